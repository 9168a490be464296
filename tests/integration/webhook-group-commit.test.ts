import { claimId } from "../../app/customers/identity.server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { groupCommitStats, receiveDelivery, type ReceiveDeps } from "../../app/webhooks/receive.server";
import { plaidItems, webhookDeliveries, webhookEvents } from "../../db/schema";
import { signBody } from "../../simulators/plaid/webhooks";
import { createHarness, type Harness } from "../support/context";
import { startTestSimulators } from "../support/simulators";

let sims: Awaited<ReturnType<typeof startTestSimulators>>;
let h: Harness;
let deps: ReceiveDeps;

beforeAll(async () => {
  sims = await startTestSimulators("webhook-group-hmac-key-0000000000000000");
});
afterAll(() => sims.close());
beforeEach(async () => {
  h = await createHarness(sims.env);
  h.clock.current = new Date(sims.clock.now());
  deps = { db: h.db, keys: h.context().webhookKeys, now: h.clock.now };
  // The key is fetched once, so that the deliveries below are all verified within one turn of the event loop.
  await deliver(itemError("warm-up"));
});

const itemError = (itemId: string) => JSON.stringify({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: itemId, error: { error_code: "ITEM_LOGIN_REQUIRED" }, environment: "sandbox" }, null, 2);
const headers = (body: string, signed = body) => ({ "content-type": "application/json", "plaid-verification": signBody(signed, sims.plaid.keys.current, sims.clock.now()) }) as Record<string, string>;
const deliver = (body: string, clientAddress = "52.21.26.131", signed = body) => {
  const sent = headers(body, signed);
  return receiveDelivery(deps, { raw: Buffer.from(body), header: (name) => sent[name] ?? null, clientAddress });
};

function addItem(itemId: string) {
  const now = h.clock.now();
  h.db.insert(plaidItems).values({ itemId, customerHash: "d".repeat(64), institutionId: "ins_109508", institutionName: "First Platypus Bank", accessTokenEnc: "v1:x", products: ["transactions"], status: "active", createdAt: now, updatedAt: now }).run();
  claimId(h.db, { kind: "item", value: itemId, customerHash: "d".repeat(64), source: "console", at: now });
}
const event = (itemId: string) => h.db.select().from(webhookEvents).where(eq(webhookEvents.itemId, itemId)).get();
const deliveriesOf = (itemId: string) => h.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.itemId, itemId)).all();

describe("group commit of webhook deliveries", () => {
  it("writes deliveries that arrive together in one transaction; a handler that throws fails alone and is recorded", async () => {
    for (const id of ["gc-1", "gc-2", "gc-fail", "gc-3"]) addItem(id);
    h.db.$client.exec("CREATE TRIGGER gc_fail BEFORE UPDATE ON plaid_items WHEN NEW.item_id = 'gc-fail' BEGIN SELECT RAISE(ABORT, 'item table refused the update'); END;");
    const before = groupCommitStats(h.db);
    const receipts = await Promise.all([deliver(itemError("gc-1")), deliver(itemError("gc-2")), deliver(itemError("gc-fail")), deliver(itemError("gc-3")), deliver(itemError("gc-forged"), undefined, `${itemError("gc-forged")} `)]);
    const after = groupCommitStats(h.db);
    expect(after.transactions - before.transactions).toBe(1);
    expect(after.deliveries - before.deliveries).toBe(5);
    expect(receipts.map((r) => r.status)).toEqual([200, 200, 200, 200, 401]);
    for (const id of ["gc-1", "gc-2", "gc-3"]) {
      expect(event(id)).toMatchObject({ handlingStatus: "handled", handleAttempts: 1 });
      expect(h.db.select().from(plaidItems).where(eq(plaidItems.itemId, id)).get()!.status).toBe("login-required");
    }
    expect(event("gc-fail")).toMatchObject({ handlingStatus: "failed", handlingResult: expect.stringContaining("item table refused the update"), handleAttempts: 1 });
    expect(deliveriesOf("gc-fail")).toHaveLength(1);
    expect(h.db.select().from(plaidItems).where(eq(plaidItems.itemId, "gc-fail")).get()!.status).toBe("active");
    expect(deliveriesOf("gc-forged")).toMatchObject([{ verdict: "rejected", answeredStatus: 401, eventId: null }]);
  });

  it("handles two deliveries of the same body in one group once: one event, two deliveries", async () => {
    addItem("gc-dup");
    const body = itemError("gc-dup");
    const [first, second] = await Promise.all([deliver(body), deliver(body)]);
    expect([first!.duplicate, second!.duplicate]).toEqual([false, true]);
    expect(first!.eventId).toBe(second!.eventId);
    expect(event("gc-dup")).toMatchObject({ deliveryCount: 2, handleAttempts: 1, handlingStatus: "handled" });
    expect(deliveriesOf("gc-dup").map((d) => d.eventId)).toEqual([first!.eventId, first!.eventId]);
  });

  it("answers only the delivery that could not be stored with an error; the rest of its group is committed", async () => {
    h.db.$client.exec("CREATE TRIGGER gc_refuse BEFORE INSERT ON webhook_deliveries WHEN NEW.client_address = '203.0.113.9' BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");
    const results = await Promise.allSettled([deliver(itemError("gc-a")), deliver(itemError("gc-lost"), "203.0.113.9"), deliver(itemError("gc-b"))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(deliveriesOf("gc-a")).toHaveLength(1);
    expect(deliveriesOf("gc-b")).toHaveLength(1);
    // Nothing of the refused delivery remains, not even its event: Plaid retries it after the error answer.
    expect(deliveriesOf("gc-lost")).toHaveLength(0);
    expect(event("gc-lost")).toBeUndefined();
  });

  it("undoes the whole group when an error ends the transaction itself, so that nothing is written outside it or twice", async () => {
    for (const id of ["gc-x", "gc-doom", "gc-y"]) addItem(id);
    // RAISE(ROLLBACK) ends the whole transaction, as a full disk would, not only the handler's savepoint.
    h.db.$client.exec("CREATE TRIGGER gc_doom BEFORE UPDATE ON plaid_items WHEN NEW.item_id = 'gc-doom' BEGIN SELECT RAISE(ROLLBACK, 'the disk is full'); END;");
    const bodies = ["gc-x", "gc-doom", "gc-y"].map(itemError);
    const results = await Promise.allSettled(bodies.map((b) => deliver(b)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    for (const id of ["gc-x", "gc-doom", "gc-y"]) {
      expect(deliveriesOf(id)).toHaveLength(0);
      expect(event(id)).toBeUndefined();
      expect(h.db.select().from(plaidItems).where(eq(plaidItems.itemId, id)).get()!.status).toBe("active");
    }
    // Plaid sends them again once the disk has room: each is stored and handled exactly once.
    h.db.$client.exec("DROP TRIGGER gc_doom");
    expect((await Promise.all(bodies.map((b) => deliver(b)))).map((r) => [r.status, r.duplicate])).toEqual([[200, false], [200, false], [200, false]]);
    for (const id of ["gc-x", "gc-doom", "gc-y"]) {
      expect(deliveriesOf(id)).toHaveLength(1);
      expect(event(id)).toMatchObject({ deliveryCount: 1, handleAttempts: 1, handlingStatus: "handled" });
    }
  });
});
