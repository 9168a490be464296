import { beforeEach, describe, expect, it } from "vitest";
import * as customers from "../../app/routes/customers._index";
import * as customer from "../../app/routes/customers.$hash/route";
import { hashCustomerId } from "../../app/customers/customer-hash.server";
import { auditLog } from "../../db/schema";
import { createHarness, form, statusOf, type Harness } from "../support/context";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});

async function lookUp(q: string, as = "auto") {
  const request = await h.request("/customers?index", { method: "POST", role: "support", body: form({ q, as }) });
  try {
    return await customers.action({ request, context: h.context(), params: {} });
  } catch (thrown) {
    if (thrown instanceof Response) return thrown;
    throw thrown;
  }
}

describe("customer lookup", () => {
  it("hashes a raw internal id with the configured key and keeps only the hash", async () => {
    const rawId = "publisher-customer-918273";
    const res = (await lookUp(rawId)) as Response;
    const hash = hashCustomerId(rawId, h.config.customerIdHmacKey);
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe(`/customers/${hash}`);
    expect(h.db.select().from(auditLog).all()).toMatchObject([{ action: "customer.lookup", customerHash: hash, details: { by: "internal id" } }]);
    h.db.$client.pragma("wal_checkpoint(TRUNCATE)");
    const { readFileSync } = await import("node:fs");
    expect(readFileSync(h.db.$client.name).includes(Buffer.from(rawId))).toBe(false);
  });

  it("sends an upper-case hash to the lowercase customer page and lists it as a recent lookup", async () => {
    const hash = "AB".repeat(32);
    expect(((await lookUp(hash)) as Response).headers.get("Location")).toBe(`/customers/${hash.toLowerCase()}`);
    const page = await customers.loader({ request: await h.request("/customers", { role: "support" }), context: h.context(), params: {} });
    expect(page.recent.map((r) => r.hash)).toEqual([hash.toLowerCase()]);
  });

  it("refuses malformed input with a 400 and stores nothing", async () => {
    for (const q of ["ab".repeat(31) + "a", "clïent", "x".repeat(10_240)]) {
      expect(await statusOf(() => lookUp(q))).toBe(400);
    }
    expect(h.db.select().from(auditLog).all()).toHaveLength(0);
  });

  it("records every view of a customer page, and 404s an address that is not a hash", async () => {
    const hash = "c".repeat(64);
    const view = async (path: string) =>
      statusOf(async () => customer.loader({ request: await h.request(`/customers/${path}`, { role: "ops" }), context: h.context(), params: { hash: path } }));
    expect(await view(hash)).toBe(200);
    expect(await view("C".repeat(64))).toBe(302);
    expect(await view("not-a-hash")).toBe(404);
    expect(h.db.select().from(auditLog).all()).toMatchObject([{ action: "customer.view", customerHash: hash, role: "ops" }]);
  });
});

describe("find by any id", () => {
  it("lands on the customer an item_id, link_session_id or Cardlytics requestId belongs to, and says plainly when nothing matches", async () => {
    const { claimId } = await import("../../app/customers/identity.server");
    const { accountLinkChecks } = await import("../../db/schema");
    const hash = "d".repeat(64);
    claimId(h.db, { kind: "item", value: "A".repeat(37), customerHash: hash, source: "publisher", at: h.clock.now() });
    claimId(h.db, { kind: "link_session", value: "6e817806-558e-4e83-99d5-39fcec3462e6", customerHash: hash, source: "publisher", at: h.clock.now() });
    h.db.insert(accountLinkChecks).values({ customerHash: hash, checkedAt: h.clock.now(), outcome: "none", httpStatus: 204, requestId: "cdlx-req-1", latencyMs: 1, attempts: 1, mockData: false }).run();
    for (const id of ["A".repeat(37), "6e817806-558e-4e83-99d5-39fcec3462e6", "cdlx-req-1"]) {
      const res = (await lookUp(id)) as Response;
      expect(res.headers.get("Location")).toBe(`/customers/${hash}`);
    }
    expect(h.db.select().from(auditLog).all().map((e) => (e.details as { by: string }).by)).toEqual(["Plaid item_id", "Plaid link_session_id", "Cardlytics requestId"]);
    const unknown = (await lookUp("B".repeat(37))) as unknown as { data: { message: string } };
    expect(unknown.data.message).toMatch(/Nothing on record matches/);
    const vendorOnly = (await lookUp("cust-1", "vendor")) as unknown as { data: { message: string } };
    expect(vendorOnly.data.message).toMatch(/No customer has that id/);
    expect(((await lookUp("access-sandbox-123")) as unknown as { data: { message: string } }).data.message).toMatch(/never paste tokens/);
    // Nothing typed that did not match was stored.
    expect(JSON.stringify(h.db.select().from(auditLog).all())).not.toContain("B".repeat(37));
  });
});
