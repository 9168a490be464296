import { and, eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as access from "../../app/routes/customers_.$hash.access";
import * as customer from "../../app/routes/customers.$hash/route";
import * as check from "../../app/routes/customers_.$hash.check";
import * as timeline from "../../app/routes/customers_.$hash.timeline";
import * as customers from "../../app/routes/customers._index";
import * as item from "../../app/routes/plaid.items.$itemId";
import * as report from "../../app/routes/reports.$id";
import * as audit from "../../app/routes/admin.audit";
import { REASON_REQUIRED_MESSAGE } from "../../app/customers/access-reason.server";
import { deleteSession, hashSessionId } from "../../app/staff/sessions.server";
import { accountLinkChecks, auditLog, craReports, craUsers, customerAccess, plaidItems } from "../../db/schema";
import { createHarness, form, type Harness } from "../support/context";

const A = "a1".repeat(32);
const B = "b2".repeat(32);

let h: Harness;
let cookie: string;
beforeEach(async () => {
  h = await createHarness({ REQUIRE_ACCESS_REASON: "on" });
  cookie = await h.cookieFor("support");
});

/** Runs a loader or action the way Remix does, and gives back what it answered: a Response (thrown or not), or data. */
async function run(fn: () => unknown): Promise<{ status: number; location: string | null; text: string; data: Record<string, unknown> }> {
  try {
    const out = await fn();
    if (out instanceof Response) return { status: out.status, location: out.headers.get("Location"), text: await out.text(), data: {} };
    const wrapped = out as { data?: Record<string, unknown>; init?: { status?: number } };
    if (wrapped && typeof wrapped === "object" && "init" in wrapped && "data" in wrapped) return { status: wrapped.init?.status ?? 200, location: null, text: "", data: wrapped.data ?? {} };
    return { status: 200, location: null, text: "", data: out as Record<string, unknown> };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, location: thrown.headers.get("Location"), text: await thrown.text(), data: {} };
    throw thrown;
  }
}

async function openCustomer(hash: string, as = cookie) {
  return run(async () => {
    const page = await customer.loader({ request: await h.request(`/customers/${hash}`, { cookie: as }), context: h.context(), params: { hash } });
    await page.cardlytics; // settle what it streams, as the browser would
    return page;
  });
}

async function giveReason(hash: string, values: Record<string, string>, redirectTo?: string, as = cookie) {
  const query = redirectTo ? `?${new URLSearchParams({ redirectTo })}` : "";
  return run(async () => access.action({ request: await h.request(`/customers/${hash}/access${query}`, { method: "POST", cookie: as, body: form(values) }), context: h.context(), params: { hash } }));
}

const viewsOf = (hash: string) => h.db.select().from(auditLog).where(and(eq(auditLog.customerHash, hash), eq(auditLog.action, "customer.view"))).all();

describe("the reason for opening a customer", () => {
  it("is asked before the customer page opens, and nothing of the customer is read or audited until it is given", async () => {
    const answer = await openCustomer(A);
    expect(answer.status).toBe(302);
    expect(answer.location).toBe(`/customers/${A}/access?redirectTo=${encodeURIComponent(`/customers/${A}`)}`);
    expect(viewsOf(A)).toHaveLength(0);
    expect(h.db.select().from(accountLinkChecks).all()).toHaveLength(0);
    // The prompt itself is a page.
    const prompt = await run(async () => access.loader({ request: await h.request(`/customers/${A}/access?redirectTo=/customers/${A}`, { cookie }), context: h.context(), params: { hash: A } }));
    expect(prompt).toMatchObject({ status: 200, data: { hash: A } });
  });

  it("guards the customer's other pages too: the Plaid Check page sends to the prompt, a post or a timeline fetch is refused", async () => {
    const page = await run(async () => check.loader({ request: await h.request(`/customers/${A}/check?from=3`, { cookie }), context: h.context(), params: { hash: A } }));
    expect(page.location).toBe(`/customers/${A}/access?redirectTo=${encodeURIComponent(`/customers/${A}/check?from=3`)}`);
    const post = await run(async () => check.action({ request: await h.request(`/customers/${A}/check`, { method: "POST", cookie: await h.cookieFor("ops"), body: form({ intent: "user" }) }), context: h.context(), params: { hash: A } }));
    expect(post).toMatchObject({ status: 403, text: REASON_REQUIRED_MESSAGE });
    const fetched = await run(async () => timeline.loader({ request: await h.request(`/customers/${A}/timeline`, { cookie }), context: h.context(), params: { hash: A } }));
    expect(fetched).toMatchObject({ status: 403, text: REASON_REQUIRED_MESSAGE });
  });

  it("guards a Plaid item's page by the item's customer", async () => {
    const now = h.clock.now();
    h.db.insert(plaidItems).values({ itemId: "item-of-a", customerHash: A, institutionId: "ins_109508", institutionName: "First Platypus Bank", accessTokenEnc: null, products: ["transactions"], status: "active", createdAt: now, updatedAt: now }).run();
    const page = await run(async () => item.loader({ request: await h.request("/plaid/items/item-of-a", { cookie }), context: h.context(), params: { itemId: "item-of-a" } }));
    expect(page.location).toBe(`/customers/${A}/access?redirectTo=${encodeURIComponent("/plaid/items/item-of-a")}`);
  });

  it("guards a consumer report's page and its probe by the report's customer", async () => {
    const at = h.clock.now();
    const user = h.db.insert(craUsers).values({ customerHash: A, generation: "new", userId: "usr_a", clientUserId: A, createdAt: at }).returning().get();
    const { id } = h.db.insert(craReports).values({ customerHash: A, craUserId: user.id, status: "pending", origin: "console", products: ["cra_base_report"], requestedAt: at, sentAt: at }).returning().get();
    const page = await run(async () => report.loader({ request: await h.request(`/reports/${id}`, { cookie }), context: h.context(), params: { id: String(id) } }));
    expect(page.location).toBe(`/customers/${A}/access?redirectTo=${encodeURIComponent(`/reports/${id}`)}`);
    const probe = await run(async () => report.action({ request: await h.request(`/reports/${id}`, { method: "POST", cookie: await h.cookieFor("ops"), body: form({ intent: "probe" }) }), context: h.context(), params: { id: String(id) } }));
    expect(probe).toMatchObject({ status: 403, text: REASON_REQUIRED_MESSAGE });
    await giveReason(A, { reason: "Reviewing the consumer report" });
    expect((await run(async () => report.loader({ request: await h.request(`/reports/${id}`, { cookie }), context: h.context(), params: { id: String(id) } }))).status).toBe(200);
  });

  it("once given, opens the page asked for and goes into the view's audit entry, the audit log and the timeline", async () => {
    const given = await giveReason(A, { reason: "  Customer asked why cash-back stopped  ", ticket: " SUP-1234 " }, `/customers/${A}/check`);
    expect(given).toMatchObject({ status: 302, location: `/customers/${A}/check` });
    expect(h.db.select().from(customerAccess).all()).toMatchObject([{ sessionIdHash: expect.any(String), customerHash: A, reason: "Customer asked why cash-back stopped", ticket: "SUP-1234" }]);
    const reasonEntry = h.db.select().from(auditLog).where(eq(auditLog.action, "customer.access_reason")).all();
    expect(reasonEntry).toMatchObject([{ customerHash: A, role: "support", details: { accessReason: "Customer asked why cash-back stopped", ticket: "SUP-1234" } }]);

    const page = await openCustomer(A);
    expect(page.status).toBe(200);
    expect(viewsOf(A)).toMatchObject([{ details: { accessReason: "Customer asked why cash-back stopped", ticket: "SUP-1234" } }]);
    const shown = (page.data.timeline as { entries: { title: string; detail: string }[] }).entries;
    expect(shown.find((e) => e.title === "Gave a reason for opening a customer")?.detail).toContain("reason for access: Customer asked why cash-back stopped (ticket SUP-1234)");

    const log = await run(async () => audit.loader({ request: await h.request("/admin/audit?action=customer.view", { role: "admin" }), context: h.context(), params: {} }));
    const entries = log.data.entries as { action: string; details: { label: string; value: string }[] }[];
    expect(entries[0]!.details).toEqual(
      expect.arrayContaining([
        { key: "accessReason", label: "Reason for access", value: "Customer asked why cash-back stopped" },
        { key: "ticket", label: "Ticket", value: "SUP-1234" },
      ]),
    );
    // With the reason given, the prompt sends straight on.
    const again = await run(async () => access.loader({ request: await h.request(`/customers/${A}/access?redirectTo=/customers/${A}/check`, { cookie }), context: h.context(), params: { hash: A } }));
    expect(again).toMatchObject({ status: 302, location: `/customers/${A}/check` });
  });

  it("is asked once per customer per session: the same customer opens again, another customer asks, a new session asks again", async () => {
    await giveReason(A, { reason: "Checking a linking complaint" });
    expect((await openCustomer(A)).status).toBe(200);
    expect((await openCustomer(A)).status).toBe(200);
    expect(viewsOf(A)).toHaveLength(2);
    expect(viewsOf(A).every((v) => (v.details as { accessReason?: string }).accessReason === "Checking a linking complaint")).toBe(true);
    expect((await openCustomer(B)).status).toBe(302);

    const secondSession = await h.cookieFor("support");
    expect((await openCustomer(A, secondSession)).location).toContain(`/customers/${A}/access`);
    // Ending the session forgets its reasons with it.
    const sessionId = JSON.parse(Buffer.from(decodeURIComponent(cookie.split("=")[1]!).split(".")[0]!, "base64").toString("utf8")) as string;
    deleteSession(h.db, sessionId);
    expect(h.db.select().from(customerAccess).where(eq(customerAccess.sessionIdHash, hashSessionId(sessionId))).all()).toHaveLength(0);
  });

  it("refuses an empty, blank or too long reason and a malformed ticket with a 400 and a message, and keeps nothing", async () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{}, "reason", /Say why you are opening this customer/],
      [{ reason: "" }, "reason", /Say why you are opening this customer/],
      [{ reason: "   \n  " }, "reason", /Say why you are opening this customer/],
      [{ reason: "why" }, "reason", /at least 5 characters/],
      [{ reason: "x".repeat(501) }, "reason", /500 characters at most/],
      [{ reason: "A good reason", ticket: "T".repeat(65) }, "ticket", /64 characters at most/],
      [{ reason: "A good reason", ticket: "SUP 12<script>" }, "ticket", /letters, digits/],
    ];
    for (const [values, field, message] of cases) {
      const answer = await giveReason(A, values);
      expect(answer.status, JSON.stringify(values)).toBe(400);
      expect((answer.data.fieldErrors as Record<string, string>)[field], JSON.stringify(values)).toMatch(message);
    }
    expect(h.db.select().from(customerAccess).all()).toHaveLength(0);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "customer.access_reason")).all()).toHaveLength(0);
    expect((await openCustomer(A)).status).toBe(302);
  });

  it("leads a lookup from the search box through the prompt and on to the customer it found", async () => {
    const found = await run(async () => customers.action({ request: await h.request("/customers?index", { method: "POST", cookie, body: form({ q: A, as: "auto" }) }), context: h.context(), params: {} }));
    expect(found.location).toBe(`/customers/${A}`);
    const prompted = await openCustomer(A);
    const to = new URL(prompted.location!, "http://x").searchParams.get("redirectTo")!;
    expect(await giveReason(A, { reason: "Customer called about a card" }, to)).toMatchObject({ status: 302, location: `/customers/${A}` });
    expect((await openCustomer(A)).status).toBe(200);
  });

  it("keeps the prompt's redirect on this site", async () => {
    expect(await giveReason(A, { reason: "Customer called about a card" }, "//evil.example/x")).toMatchObject({ status: 302, location: `/customers/${A}` });
  });

  it("is not asked when REQUIRE_ACCESS_REASON is off, and the prompt then sends straight on", async () => {
    const off = await createHarness();
    const c = await off.cookieFor("support");
    const page = await customer.loader({ request: await off.request(`/customers/${A}`, { cookie: c }), context: off.context(), params: { hash: A } });
    await page.cardlytics;
    expect(page.hash).toBe(A);
    const prompt = await run(async () => access.loader({ request: await off.request(`/customers/${A}/access`, { cookie: c }), context: off.context(), params: { hash: A } }));
    expect(prompt).toMatchObject({ status: 302, location: `/customers/${A}` });
  });
});
