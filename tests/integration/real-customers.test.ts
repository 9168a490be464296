import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as customerPage from "../../app/routes/customers.$hash/route";
import * as customerData from "../../app/routes/api.customer-data";
import * as timelineRoute from "../../app/routes/customers_.$hash.timeline";
import * as receiver from "../../app/routes/webhooks.plaid";
import { createApiKey } from "../../app/funnel/api-keys.server";
import { recordAudit } from "../../app/staff/audit.server";
import { plaidItems } from "../../db/schema";
import { signBody } from "../../simulators/plaid/webhooks";
import { ORIGIN } from "../support/context";
import { SIM_PLAID, simulatorHarness } from "../support/simulators";
import { startWebhookReceiver } from "../support/webhook-receiver";

// A customer whose Plaid side the publisher's app made: items, Link sessions and webhooks the console did not create,
// registered through the customer-data API, then read on the customer's page.
const t = simulatorHarness("real-customers-test-hmac-key-00000000000");
let elsewhere: Awaited<ReturnType<typeof startWebhookReceiver>>;
let key: string;
beforeAll(async () => {
  // Where the publisher's own webhooks go in these tests: somewhere that is not this console.
  elsewhere = await startWebhookReceiver();
});
afterAll(() => elsewhere.close());
beforeEach(() => {
  const h = t.h;
  key = createApiKey(h.db, "backend", { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: h.clock.now() }, ["customer_data", "events"]).secret;
});

const HASH = "c3".repeat(32);

async function register(...entries: object[]) {
  const res = (await customerData.action({ request: new Request(`${ORIGIN}/api/customer-data`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` }, body: JSON.stringify({ entries }) }), context: t.h.context(), params: {} })) as Response;
  const body = (await res.json()) as { accepted: number; refused: number };
  expect(body.refused, JSON.stringify(body)).toBe(0);
  return body;
}

async function plaid<T>(path: string, body: object): Promise<T> {
  const res = await fetch(`${t.sims.plaid.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_id: SIM_PLAID.clientId, secret: SIM_PLAID.secret, ...body }) });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** The publisher's backend links a bank as its app would: public token, exchange; the console is not involved. */
async function publisherItem(webhook = elsewhere.url) {
  const { public_token } = await plaid<{ public_token: string }>("/sandbox/public_token/create", { institution_id: "ins_109508", initial_products: ["transactions"], options: { webhook } });
  return plaid<{ access_token: string; item_id: string }>("/item/public_token/exchange", { public_token });
}

async function deliver(payload: object) {
  const body = JSON.stringify(payload, null, 2);
  const request = new Request(`${ORIGIN}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json", "plaid-verification": signBody(body, t.sims.plaid.keys.current, t.sims.clock.now()) }, body });
  expect((await receiver.action({ request, context: t.h.context("52.21.26.131"), params: {} })).status).toBe(200);
}

async function page(hash = HASH) {
  const data = await customerPage.loader({ request: await t.h.request(`/customers/${hash}`, { role: "support" }), context: t.h.context(), params: { hash } });
  const live = await data.plaid;
  if (!("items" in live)) throw new Error("Plaid did not answer within the page's wait");
  return { ...data, live, verdict: await data.verdict, escalation: await data.escalation };
}

describe("live Plaid diagnosis of a registered item", () => {
  it("reads the item and its accounts with the registered access token, and flags a webhook Plaid sent that never arrived", async () => {
    const item = await publisherItem();
    await register({ type: "plaid_item", customer_hash: HASH, item_id: item.item_id, access_token: item.access_token, institution_id: "ins_109508", institution_name: "First Platypus Bank" });

    const first = await page();
    expect(first.live.items).toMatchObject([{ itemId: item.item_id, ok: true, status: "active", errorCode: null, lastWebhook: null }]);
    const live = first.live.items[0]!;
    if (!live.ok) throw new Error("unreachable");
    expect(live.accounts.length).toBeGreaterThan(0);
    expect(live.accounts[0]).toMatchObject({ accountId: expect.any(String), mask: expect.any(String), current: expect.any(Number) });
    expect(first.escalation).toContain(live.requestIds[0]!);

    // Plaid asks the user to log in again and says so by webhook, to the publisher's endpoint: not to this console.
    await plaid("/sandbox/item/reset_login", { access_token: item.access_token });
    const second = await page();
    expect(second.live.items[0]).toMatchObject({ ok: true, status: "login-required", errorCode: "ITEM_LOGIN_REQUIRED", lastWebhook: { code: "ERROR", received: false } });
    // The stored item follows what Plaid said, and the verdict reads it.
    expect(t.h.db.select().from(plaidItems).where(eq(plaidItems.itemId, item.item_id)).get()).toMatchObject({ status: "login-required", errorCode: "ITEM_LOGIN_REQUIRED" });
    expect(second.verdict).toMatchObject({ answer: "at-risk", code: "item-login-required" });

    // Once the webhook reaches the console, it is no longer flagged.
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: item.item_id, error: { error_code: "ITEM_LOGIN_REQUIRED", error_type: "ITEM_ERROR" }, environment: "sandbox" });
    expect((await page()).live.items[0]).toMatchObject({ lastWebhook: { code: "ERROR", received: true } });
  });

  it("shows Plaid's refusal of a registered token with its code and next step, and the page still renders", async () => {
    await register({ type: "plaid_item", customer_hash: HASH, item_id: "item-bad-token", access_token: "access-sandbox-unknown-to-plaid" });
    const data = await page();
    expect(data.stored.items).toMatchObject([{ itemId: "item-bad-token", hasAccessToken: true }]);
    expect(data.live.items).toMatchObject([{ itemId: "item-bad-token", ok: false, error: { errorCode: "INVALID_ACCESS_TOKEN", requestId: expect.any(String), help: expect.stringContaining("register the item's current access token") } }]);
    expect(data.verdict).toBeTruthy();
  });

  it("does not ask Plaid about an item it holds no token for: its state comes from its webhooks", async () => {
    await register({ type: "plaid_item", customer_hash: HASH, item_id: "item-no-token", institution_name: "Tartan Bank" });
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "item-no-token", error: { error_code: "ITEM_LOGIN_REQUIRED", error_type: "ITEM_ERROR" }, environment: "sandbox" });
    const data = await page();
    expect(data.live.items).toEqual([]);
    expect(data.stored.items).toMatchObject([{ itemId: "item-no-token", hasAccessToken: false, status: "login-required", errorCode: "ITEM_LOGIN_REQUIRED" }]);
  });
});

describe("Link sessions of a real customer", () => {
  it("puts each session's events in order with its outcome, institution, error and duration", async () => {
    const at = (s: number) => new Date(t.sims.clock.now() - 60_000 + s * 1000).toISOString();
    await register({ type: "link_session", customer_hash: HASH, link_session_id: "ls-ok" }, { type: "link_session", customer_hash: HASH, link_session_id: "ls-exit" });
    await deliver({ webhook_type: "LINK", webhook_code: "EVENTS", link_session_id: "ls-ok", events: [
      { event_name: "OPEN", event_id: "o1", timestamp: at(0) },
      { event_name: "SELECT_INSTITUTION", event_id: "o2", timestamp: at(5), event_metadata: { institution_name: "First Platypus Bank", institution_id: "ins_109508" } },
      { event_name: "HANDOFF", event_id: "o3", timestamp: at(20) },
    ], environment: "sandbox" });
    await deliver({ webhook_type: "LINK", webhook_code: "ITEM_ADD_RESULT", link_session_id: "ls-ok", public_token: "public-sandbox-x", environment: "sandbox" });
    await deliver({ webhook_type: "LINK", webhook_code: "SESSION_FINISHED", link_session_id: "ls-ok", status: "SUCCESS", environment: "sandbox" });
    await deliver({ webhook_type: "LINK", webhook_code: "EVENTS", link_session_id: "ls-exit", events: [
      { event_name: "OPEN", event_id: "e1", timestamp: at(30) },
      { event_name: "ERROR", event_id: "e2", timestamp: at(40), event_metadata: { error_code: "INVALID_CREDENTIALS", institution_name: "Tartan Bank" } },
      { event_name: "EXIT", event_id: "e3", timestamp: at(45), event_metadata: { exit_status: "requires_credentials", error_code: "INVALID_CREDENTIALS" } },
    ], environment: "sandbox" });
    await deliver({ webhook_type: "LINK", webhook_code: "SESSION_FINISHED", link_session_id: "ls-exit", status: "EXITED", environment: "sandbox" });

    const sessions = (await page()).stored.linkSessions;
    const ok = sessions.find((s) => s.linkSessionId === "ls-ok")!;
    expect(ok).toMatchObject({ outcome: "success", institution: "First Platypus Bank", itemAdded: true, durationMs: 20_000, source: "registered" });
    expect(ok.events.map((e) => e.name)).toEqual(["OPEN", "SELECT_INSTITUTION", "HANDOFF"]);
    const exited = sessions.find((s) => s.linkSessionId === "ls-exit")!;
    expect(exited).toMatchObject({ outcome: "error", errorCode: "INVALID_CREDENTIALS", exitStatus: "requires_credentials", itemAdded: false });
    expect(exited.events.map((e) => e.name)).toEqual(["OPEN", "ERROR", "EXIT"]);
    expect((await page()).escalation).toContain("ls-exit");
  });
});

describe("the customer's timeline", () => {
  async function timeline(query = "") {
    const res = (await timelineRoute.loader({ request: await t.h.request(`/customers/${HASH}/timeline${query}`, { role: "support" }), context: t.h.context(), params: { hash: HASH } })) as { entries: { key: string; kind: string; at: number; title: string }[]; next: string | null };
    return res;
  }

  it("holds every kind of entry, newest first, filters by kind, and pages through all of it without a gap or a repeat", async () => {
    const item = await publisherItem();
    await register(
      { type: "plaid_item", customer_hash: HASH, item_id: item.item_id, access_token: item.access_token, institution_name: "First Platypus Bank" },
      { type: "link_session", customer_hash: HASH, link_session_id: "ls-t" },
      { type: "check_user", customer_hash: HASH, user_id: "usr_timeline" },
    );
    await deliver({ webhook_type: "LINK", webhook_code: "EVENTS", link_session_id: "ls-t", events: [{ event_name: "OPEN", event_id: "t1", timestamp: new Date(t.sims.clock.now()).toISOString() }], environment: "sandbox" });
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: item.item_id, error: { error_code: "ITEM_LOGIN_REQUIRED" }, environment: "sandbox" });
    await deliver({ webhook_type: "CHECK_REPORT", webhook_code: "USER_CHECK_REPORT_READY", user_id: "usr_timeline", successful_products: ["cra_base_report"], environment: "sandbox" });
    // A long history of staff views, each a moment apart, some sharing a millisecond.
    for (let i = 0; i < 130; i++) {
      t.h.clock.advance(i % 3 === 0 ? 0 : 1000);
      recordAudit(t.h.db, { actor: { id: t.h.users.support.id, email: t.h.users.support.email, role: "support" }, action: "customer.view", customerHash: HASH, clientAddress: "127.0.0.1", at: t.h.clock.now() });
    }

    const first = await timeline();
    expect(first.entries.length).toBeGreaterThan(0);
    const seen: string[] = [];
    const kinds = new Set<string>();
    let cursor: string | null = "";
    let pages = 0;
    while (cursor !== null) {
      const p = await timeline(cursor ? `?before=${encodeURIComponent(cursor)}` : "");
      for (let i = 1; i < p.entries.length; i++) expect(p.entries[i - 1]!.at).toBeGreaterThanOrEqual(p.entries[i]!.at);
      seen.push(...p.entries.map((e) => e.key));
      p.entries.forEach((e) => kinds.add(e.kind));
      cursor = p.next;
      pages++;
      expect(pages).toBeLessThan(20);
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((k) => k.startsWith("staff")).length).toBeGreaterThanOrEqual(130);
    expect(pages).toBeGreaterThan(2);
    for (const kind of ["item", "link", "report", "webhook", "funnel", "staff"]) expect(kinds, kind).toContain(kind);

    const webhooks = await timeline("?kind=webhook");
    expect(webhooks.entries.map((e) => e.kind)).toEqual(["webhook", "webhook", "webhook"]);
    expect(webhooks.next).toBeNull();
  });
});
