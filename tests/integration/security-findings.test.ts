import { beforeEach, describe, expect, it } from "vitest";
import * as auditPage from "../../app/routes/admin.audit";
import * as ingest from "../../app/routes/api.events";
import * as login from "../../app/routes/login";
import { createApiKey } from "../../app/funnel/api-keys.server";
import { csvCell, csvRow } from "../../app/lib/csv";
import { recordAudit } from "../../app/staff/audit.server";
import { funnelEvents } from "../../db/schema";
import { createHarness, form, ORIGIN, type Harness } from "../support/context";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});

async function outcome(run: () => unknown): Promise<Response> {
  try {
    const result = await run();
    if (result instanceof Response) return result;
    const init = (result as { init?: ResponseInit } | null)?.init;
    return new Response(JSON.stringify((result as { data?: unknown } | null)?.data ?? result), init);
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

describe("redirect after sign-in", () => {
  // Each is checked on the path a browser would follow, after dot segments are resolved.
  const EVIL = ["/.//evil.example", "/..//evil.example", "/%2e//evil.example", "/a/..//evil.example", "/%2e%2e//evil.example", "/./\\evil.example", "//evil.example", "https://evil.example/"];

  it("never sends a freshly signed-in visitor off the site, whatever the redirectTo resolves to", async () => {
    for (const target of EVIL) {
      const request = await h.request(`/login?redirectTo=${encodeURIComponent(target)}`, { method: "POST", body: form({ email: h.users.support.email, password: h.users.support.password }) });
      const res = await outcome(() => login.action({ request, context: h.context(), params: {} }));
      expect(res.status, target).toBe(302);
      expect(res.headers.get("Location"), target).toBe("/");
    }
  });

  it("never sends an already signed-in visitor off the site either, and keeps a real path", async () => {
    for (const target of EVIL) {
      const request = await h.request(`/login?redirectTo=${encodeURIComponent(target)}`, { role: "support" });
      const res = await outcome(() => login.loader({ request, context: h.context(), params: {} }));
      expect(res.headers.get("Location"), target).toBe("/");
    }
    const request = await h.request(`/login?redirectTo=${encodeURIComponent("/customers/./x?y=1")}`, { role: "support" });
    expect((await outcome(() => login.loader({ request, context: h.context(), params: {} }))).headers.get("Location")).toBe("/customers/x?y=1");
  });
});

describe("audit action family filter", () => {
  it("matches the family literally: _ and % are characters, not wildcards", async () => {
    for (const action of ["staff.login", "sandbox.mint", "customer.view", "a_b_c.thing"]) recordAudit(h.db, { actor: null, action, at: h.clock.now() });
    const page = async (q: string) => auditPage.loader({ request: await h.request(`/admin/audit?action=${encodeURIComponent(q)}`, { role: "admin" }), context: h.context(), params: {} });
    expect((await page("_____.*")).entries).toHaveLength(0);
    expect((await page("a_b_c.*")).entries.map((e) => e.action)).toEqual(["a_b_c.thing"]);
    expect((await page("staff.*")).entries.map((e) => e.action)).toEqual(["staff.login"]);
  });
});

describe("event attributes", () => {
  it("refuses attribute names that carry a customer's identity, by name, and keeps the rest of the batch", async () => {
    const key = createApiKey(h.db, "backend", { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: h.clock.now() }).secret;
    const names = ["customer_id", "user_id", "email", "phone", "name", "address", "ssn", "customerId", "billing_email", "date_of_birth", "first_name"];
    const events = names.map((n, i) => ({ event_id: `bad-${i}`, name: "link_started", occurred_at: "2026-11-22T11:00:00Z", customer_hash: "a".repeat(64), attributes: { [n]: "cust-99999" } }));
    events.push({ event_id: "ok", name: "link_started", occurred_at: "2026-11-22T11:00:00Z", customer_hash: "a".repeat(64), attributes: { platform: "ios", institution_name: "Chase" } as never });
    const response = (await ingest.action({ request: new Request(`${ORIGIN}/api/events`, { method: "POST", headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" }, body: JSON.stringify({ events }) }), context: h.context(), params: {} })) as Response;
    const body = (await response.json()) as { accepted: number; rejected: number; results: { status: string; errors?: { field: string; message: string }[] }[] };
    expect(body.accepted).toBe(1);
    expect(body.rejected).toBe(names.length);
    names.forEach((n, i) => expect(body.results[i]!.errors?.[0]).toMatchObject({ field: `attributes.${n}`, message: expect.stringContaining("identity") }));
    expect(JSON.stringify(h.db.select().from(funnelEvents).all())).not.toContain("cust-99999");
  });
});

describe("CSV cells", () => {
  it("quotes any cell a spreadsheet could split (comma, semicolon, tab, quote, newline), so no part starts a formula", () => {
    expect(csvCell("a;=HYPERLINK(1)")).toBe('"a;=HYPERLINK(1)"');
    expect(csvCell("a\t=1")).toBe('"a\t=1"');
    expect(csvCell("=1;2")).toBe(`"'=1;2"`);
    expect(csvRow(["x;y", "plain"])).toBe('"x;y",plain\r\n');
  });
});

describe("actions with several intents", () => {
  it("check exactly the permission of the intent sent, and name it when refusing", async () => {
    const routes = [
      { mod: await import("../../app/routes/plaid.items.$itemId"), needs: (await import("../../app/plaid/item-intents")).ITEM_INTENT_PERMISSIONS, params: { itemId: "no-such-item" } },
      { mod: await import("../../app/routes/customers_.$hash.check"), needs: (await import("../../app/reports/check-intents")).CHECK_INTENT_PERMISSIONS, params: { hash: "c".repeat(64) } },
    ];
    const { can, ROLES } = await import("../../app/staff/permissions");
    for (const { mod, needs, params } of routes) {
      for (const [intent, permission] of Object.entries(needs)) {
        for (const role of ROLES) {
          const request = await h.request("/x", { method: "POST", role, body: form({ intent }) });
          const res = await outcome(() => mod.action({ request, context: h.context(), params } as never));
          if (can(role, permission)) {
            expect(res.status, `${role} ${intent}`).not.toBe(403);
          } else {
            expect(res.status, `${role} ${intent}`).toBe(403);
            expect(await res.text(), `${role} ${intent}`).toContain(`"${permission}"`);
          }
        }
      }
    }
  });
});
