import { claimId } from "../../app/customers/identity.server";
import { eq, gte, lt } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import * as csv from "../../app/routes/webhooks[.]csv";
import * as list from "../../app/routes/webhooks._index";
import * as eventPage from "../../app/routes/webhooks.$id";
import * as receiver from "../../app/routes/webhooks.plaid";
import { listDeliveries } from "../../app/webhooks/history.server";
import { craReports, craUsers, webhookDeliveries, webhookEvents } from "../../db/schema";
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
    // Underscores and percent signs are taken literally, as typed.
    expect((await page("?q=ITEM_LOGIN_REQUIRED")).rows).toMatchObject([{ itemId: "item-42" }]);
    expect((await page("?q=ITEM%25LOGIN")).rows).toHaveLength(0);
    expect((await page("?q=ls_1")).rows).toHaveLength(0);
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
    expect((await page("?customer=zz&from=yesterday&to=2026-02-30")).errors).toMatchObject({ customer: expect.any(String), from: expect.any(String), to: "No such date" });
  });

  it("reads a bounded window of bodies per page of a text search, says how far back it got, and carries on from there", async () => {
    for (let i = 0; i < 30; i++) await deliver({ webhook_type: "LINK", webhook_code: "EVENTS", link_session_id: i === 3 || i === 25 ? `needle-${i}` : `hay-${i}`, environment: "sandbox" });
    const window = { textSearchWindow: 10 };
    const first = listDeliveries(h.db, { q: "needle" }, window);
    expect(first.rows).toHaveLength(1);
    expect(first.searchedBackTo).not.toBeNull();
    // The next page starts where this one stopped reading, not after its last match.
    expect(first.nextBefore).toBe(first.searchedBackTo!.id);
    const second = listDeliveries(h.db, { q: "needle", before: first.nextBefore! }, window);
    expect(second.rows).toHaveLength(0);
    const third = listDeliveries(h.db, { q: "needle", before: second.nextBefore! }, window);
    expect(third.rows).toHaveLength(1);
    // The window reaches the oldest delivery: nothing older to search.
    expect(third).toMatchObject({ nextBefore: null, searchedBackTo: null });
    expect(first.rows[0]!.id).toBeGreaterThan(third.rows[0]!.id);
    // An item narrows the search through its index: no window, whatever the size of the table.
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "item-needle", error: { error_code: "needle" } });
    expect(listDeliveries(h.db, { q: "needle", item: "item-needle" }, window)).toMatchObject({ rows: [{ itemId: "item-needle" }], nextBefore: null, searchedBackTo: null });
    // A date range bounds the window too: the search ends at the range's first delivery, not at the oldest of all.
    const newest = listDeliveries(h.db, {}, { limit: 1 }).rows[0]!;
    h.db.update(webhookDeliveries).set({ receivedAt: new Date(Date.parse("2026-11-20T12:00:00Z")) }).where(lt(webhookDeliveries.id, 20)).run();
    h.db.update(webhookDeliveries).set({ receivedAt: new Date(Date.parse("2026-11-21T12:00:00Z")) }).where(gte(webhookDeliveries.id, 20)).run();
    const dated = listDeliveries(h.db, { q: "needle", from: "2026-11-21", before: newest.id }, window);
    expect(dated).toMatchObject({ rows: [{ id: first.rows[0]!.id }], nextBefore: newest.id - 10 });
    expect(listDeliveries(h.db, { q: "needle", from: "2026-11-21", before: dated.nextBefore! }, window)).toMatchObject({ rows: [], nextBefore: null, searchedBackTo: null });
    // Without a text filter there is no window: one page holds them all.
    expect(listDeliveries(h.db, { type: "LINK" }, window)).toMatchObject({ nextBefore: null, searchedBackTo: null });
    expect(listDeliveries(h.db, { type: "LINK" }, window).rows).toHaveLength(30);
  });

  it("filters by UTC day, exactly at the edges, and keeps received_at in id order when a delivery is written late", async () => {
    const DAY = 86_400_000;
    const midnight = Math.ceil(h.clock.now().getTime() / DAY) * DAY;
    const at = (ms: number) => {
      sims.clock.advance(ms - sims.clock.now());
      h.clock.current = new Date(ms);
    };
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    for (const [ms, id] of [[midnight - 1, "last-of-day-1"], [midnight, "first-of-day-2"], [midnight + DAY - 1, "last-of-day-2"], [midnight + DAY, "first-of-day-3"]] as const) {
      at(ms);
      await deliver({ webhook_type: "ITEM", webhook_code: "LOGIN_REPAIRED", item_id: id });
    }
    const items = async (query: string) => (await page(query)).rows.map((r) => r.itemId);
    expect(await items(`?from=${day(midnight)}&to=${day(midnight)}`)).toEqual(["last-of-day-2", "first-of-day-2"]);
    expect(await items(`?to=${day(midnight - 1)}`)).toEqual(["last-of-day-1"]);
    expect(await items(`?from=${day(midnight + DAY)}`)).toEqual(["first-of-day-3"]);
    expect(await items(`?from=${day(midnight + 2 * DAY)}`)).toEqual([]);
    // Arrived a minute before the last one was written (it waited for a key, say): stamped no earlier than that one.
    at(midnight + DAY - 60_000);
    await deliver({ webhook_type: "ITEM", webhook_code: "LOGIN_REPAIRED", item_id: "late" });
    const stamps = () => h.db.select({ at: webhookDeliveries.receivedAt }).from(webhookDeliveries).orderBy(webhookDeliveries.id).all().map((r) => r.at.getTime());
    expect(stamps()).toEqual([...stamps()].sort((a, b) => a - b));
    expect(stamps().at(-1)).toBe(midnight + DAY);
    // A clock stepped back by more than a minute is believed: one bad stamp must not hold every later one in the future.
    at(midnight + DAY - 5 * 60_000);
    await deliver({ webhook_type: "ITEM", webhook_code: "LOGIN_REPAIRED", item_id: "after-a-clock-step" });
    expect(stamps().at(-1)).toBe(midnight + DAY - 5 * 60_000);
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

  it("shows a delivery with its payload, raw bytes, verification, every delivery of its event and the report it settled", async () => {
    h.db.insert(craUsers).values({ customerHash: "f".repeat(64), generation: "new", userId: "usr_page", clientUserId: "client-page", createdAt: h.clock.now() }).run();
    claimId(h.db, { kind: "check_user", value: "usr_page", customerHash: "f".repeat(64), source: "console", at: h.clock.now() });
    const payload = { webhook_type: "CHECK_REPORT", webhook_code: "USER_CHECK_REPORT_READY", user_id: "usr_page", successful_products: ["cra_base_report"], environment: "sandbox" };
    await deliver(payload);
    await deliver(payload);
    const [latest, first] = (await page("?user=usr_page")).rows;
    const view = await eventPage.loader({ request: await h.request(`/webhooks/${latest!.id}`, { role: "support" }), context: h.context(), params: { id: String(latest!.id) } });
    const report = h.db.select().from(craReports).get()!;
    expect(view).toMatchObject({
      raw: JSON.stringify(payload, null, 2),
      pretty: JSON.stringify(payload, null, 2),
      delivery: { verdict: "verified", userId: "usr_page", customerHash: "f".repeat(64), kid: sims.plaid.keys.current.jwk.kid },
      event: { deliveryCount: 2, handlingStatus: "handled", handleAttempts: 1 },
      reports: [{ id: report.id, status: "ready" }],
      mayRehandle: false,
    });
    expect(view.deliveries.map((d) => d.id)).toEqual([first!.id, latest!.id]);
    await expect(eventPage.loader({ request: await h.request("/webhooks/999999", { role: "support" }), context: h.context(), params: { id: "999999" } })).rejects.toMatchObject({ status: 404 });
  });

  it("prunes old deliveries but keeps the event a consumer report was settled by", async () => {
    h.db.insert(craUsers).values({ customerHash: "e".repeat(64), generation: "new", userId: "usr_prune", clientUserId: "client-prune", createdAt: h.clock.now() }).run();
    await deliver({ webhook_type: "CHECK_REPORT", webhook_code: "USER_CHECK_REPORT_READY", user_id: "usr_prune", successful_products: ["cra_base_report"], environment: "sandbox" });
    await deliver({ webhook_type: "ITEM", webhook_code: "LOGIN_REPAIRED", item_id: "item-old" });
    const report = h.db.select().from(craReports).get()!;
    expect(report.webhookEventId).not.toBeNull();
    const { pruneWebhooks } = await import("../../app/webhooks/maintenance.server");
    expect(pruneWebhooks(h.db, new Date(h.clock.now().getTime() + 91 * 86_400_000), 90)).toEqual({ deliveries: 2, events: 1 });
    expect(h.db.select({ id: webhookEvents.id }).from(webhookEvents).all()).toEqual([{ id: report.webhookEventId }]);
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
