import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import * as csv from "../../app/routes/webhooks[.]csv";
import * as list from "../../app/routes/webhooks._index";
import * as receiver from "../../app/routes/webhooks.plaid";
import { webhookEvents } from "../../db/schema";
import { signBody } from "../../simulators/plaid/webhooks";
import { createHarness, ORIGIN, type Harness } from "../support/context";
import { startTestSimulators } from "../support/simulators";

let sims: Awaited<ReturnType<typeof startTestSimulators>>;
let h: Harness;
beforeAll(async () => {
  sims = await startTestSimulators("webhook-history-hmac-key-00000000000000");
});
afterAll(() => sims.close());
beforeEach(async () => {
  h = await createHarness(sims.env);
  h.clock.current = new Date(sims.clock.now());
});

async function deliver(payload: object, signed = true) {
  const body = JSON.stringify(payload, null, 2);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signed) headers["plaid-verification"] = signBody(body, sims.plaid.keys.current, sims.clock.now());
  await receiver.action({ request: new Request(`${ORIGIN}/webhooks/plaid`, { method: "POST", headers, body }), context: h.context(), params: {} });
}

async function page(query: string) {
  return list.loader({ request: await h.request(`/webhooks${query}`, { role: "support" }), context: h.context(), params: {} });
}

describe("webhook history", () => {
  it("filters by type, code, verdict, handling, item and payload text, and pages by keyset", async () => {
    for (let i = 0; i < 60; i++) await deliver({ webhook_type: "LINK", webhook_code: "EVENTS", link_session_id: `ls-${i}`, environment: "sandbox" });
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "item-42", error: { error_code: "ITEM_LOGIN_REQUIRED" }, environment: "sandbox" });
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "item-43" }, false);
    expect((await page("?type=ITEM")).rows).toHaveLength(2);
    expect((await page("?verdict=rejected")).rows).toMatchObject([{ itemId: "item-43", answeredStatus: 401 }]);
    expect((await page("?item=item-42")).rows).toMatchObject([{ webhookCode: "ERROR", handlingStatus: "ignored" }]);
    expect((await page("?q=ls-17")).rows).toHaveLength(1);
    expect((await page("?q=100%25")).rows).toHaveLength(0);
    const seen: number[] = [];
    let query = "?type=LINK";
    for (;;) {
      const p = await page(query);
      seen.push(...p.rows.map((r) => r.id));
      if (!p.next) break;
      query = p.next;
    }
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect((await page("?customer=zz&from=yesterday")).errors).toMatchObject({ customer: expect.any(String), from: expect.any(String) });
  });

  it("exports the filtered list as CSV", async () => {
    await deliver({ webhook_type: "ITEM", webhook_code: "LOGIN_REPAIRED", item_id: "item-csv" });
    const res = (await csv.loader({ request: await h.request("/webhooks.csv?code=LOGIN_REPAIRED", { role: "support" }), context: h.context(), params: {} })) as Response;
    const lines = (await res.text()).trim().split("\r\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain("LOGIN_REPAIRED,verified,200");
  });

  it("raises the rejection alert past a fifth of the last hour's deliveries, and prunes past the retention period", async () => {
    for (let i = 0; i < 8; i++) await deliver({ webhook_type: "ITEM", webhook_code: "NEW_ACCOUNTS_AVAILABLE", item_id: `ok-${i}` });
    for (let i = 0; i < 2; i++) await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: `forged-${i}` }, false);
    expect((await page("")).alert).toBeNull();
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "forged-x" }, false);
    expect((await page("")).alert).toMatchObject({ total: 11, rejected: 3 });
    const { pruneWebhooks } = await import("../../app/webhooks/maintenance.server");
    expect(pruneWebhooks(h.db, new Date(h.clock.now().getTime() + 89 * 86_400_000), 90)).toEqual({ deliveries: 0, events: 0 });
    expect(pruneWebhooks(h.db, new Date(h.clock.now().getTime() + 91 * 86_400_000), 90)).toEqual({ deliveries: 11, events: 8 });
    expect((await page("")).rows).toHaveLength(0);
  });

  it("lets ops re-run every failed handler in a filter, as a background job", async () => {
    await deliver({ webhook_type: "ITEM", webhook_code: "PENDING_DISCONNECT", item_id: "item-x" });
    await deliver({ webhook_type: "ITEM", webhook_code: "PENDING_DISCONNECT", item_id: "item-y" });
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "item-x", error: { error_code: "ITEM_LOGIN_REQUIRED" } });
    // item-x's two events failed; item-y's did not, and the ERROR event is outside the filter.
    h.db.update(webhookEvents).set({ handlingStatus: "failed", handlingResult: "boom" }).where(eq(webhookEvents.itemId, "item-x")).run();
    const res = (await list.action({ request: await h.request("/webhooks?code=PENDING_DISCONNECT&index", { method: "POST", role: "ops" }), context: h.context(), params: {} })) as Response;
    const job = new URL(res.headers.get("Location")!, ORIGIN).searchParams.get("job");
    await vi.waitFor(async () => expect((await page(`?code=PENDING_DISCONNECT&job=${job}`)).job).toMatchObject({ status: "finished", total: 1, done: 1, stillFailing: 0 }));
    const status = Object.fromEntries(h.db.select().from(webhookEvents).all().map((e) => [`${e.itemId} ${e.webhookCode}`, [e.handlingStatus, e.handleAttempts]]));
    expect(status).toEqual({ "item-x PENDING_DISCONNECT": ["ignored", 2], "item-y PENDING_DISCONNECT": ["ignored", 1], "item-x ERROR": ["failed", 1] });
  });
});
