import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createApiKey } from "../../app/funnel/api-keys.server";
import * as customerData from "../../app/routes/api.customer-data";
import * as events from "../../app/routes/api.events";
import * as receiver from "../../app/routes/webhooks.plaid";
import * as customerPage from "../../app/routes/customers.$hash/route";
import { Configuration, PlaidApi, Products, ProcessorTokenCreateRequestProcessorEnum } from "plaid";
import { request as undiciRequest } from "undici";
import { ownerOf } from "../../app/customers/identity.server";
import { decryptToken, tokenBinding } from "../../app/lib/token-crypto.server";
import { apiKeys, craReports, craUsers, customerIdConflicts, funnelCustomers, linkSessions, plaidItems, processorTokens, webhookDeliveries, webhookEvents } from "../../db/schema";
import { signBody } from "../../simulators/plaid/webhooks";
import { createHarness, ORIGIN, type Harness } from "../support/context";
import { startTestSimulators } from "../support/simulators";

let sims: Awaited<ReturnType<typeof startTestSimulators>>;
let h: Harness;
let key: string;
const admin = () => ({ actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" as const }, clientAddress: "127.0.0.1", now: h.clock.now() });

beforeAll(async () => {
  sims = await startTestSimulators("customer-data-test-hmac-key-0000000000000");
});
afterAll(() => sims.close());
beforeEach(async () => {
  h = await createHarness(sims.env);
  h.clock.current = new Date(sims.clock.now());
  key = createApiKey(h.db, "backend", admin(), ["customer_data", "events"]).secret;
});

const A = "a".repeat(64);
const B = "b".repeat(64);
type Result = { index: number; type: string | null; id: string | null; status: string; errors?: { field: string; message: string }[] };

async function post(body: unknown, init: { auth?: string | null; contentType?: string; raw?: string } = {}) {
  const headers: Record<string, string> = { "Content-Type": init.contentType ?? "application/json" };
  const auth = init.auth === undefined ? `Bearer ${key}` : init.auth;
  if (auth) headers.Authorization = auth;
  const response = (await customerData.action({ request: new Request(`${ORIGIN}/api/customer-data`, { method: "POST", headers, body: init.raw ?? JSON.stringify(body) }), context: h.context(), params: {} })) as Response;
  return { status: response.status, body: (await response.json()) as { error?: string; message?: string; accepted?: number; unchanged?: number; refused?: number; results: Result[] } };
}
const entries = (...list: object[]) => post({ entries: list });
const item = (o: Record<string, unknown> = {}) => ({ type: "plaid_item", customer_hash: A, item_id: "item-1", institution_id: "ins_109508", institution_name: "First Platypus Bank", ...o });

async function deliver(payload: object) {
  const body = JSON.stringify(payload, null, 2);
  const request = new Request(`${ORIGIN}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json", "plaid-verification": signBody(body, sims.plaid.keys.current, sims.clock.now()) }, body });
  const res = await receiver.action({ request, context: h.context("52.21.26.131"), params: {} });
  expect(res.status).toBe(200);
}

describe("POST /api/customer-data: keys and scopes", () => {
  it("refuses a missing or unknown key with 401 and a key without the customer-data scope with 403", async () => {
    expect((await entries(item())).status).toBe(200);
    const missing = await post({ entries: [item()] }, { auth: null });
    expect([missing.status, missing.body.error]).toEqual([401, "missing_key"]);
    expect((await post({ entries: [item()] }, { auth: `Bearer lkd_${"x".repeat(40)}` })).body.error).toBe("invalid_key");
    const eventsOnly = createApiKey(h.db, "events only", admin()).secret;
    const wrong = await post({ entries: [item({ item_id: "item-2" })] }, { auth: `Bearer ${eventsOnly}` });
    expect([wrong.status, wrong.body.error]).toEqual([403, "wrong_scope"]);
    expect(h.db.select().from(plaidItems).all().map((i) => i.itemId)).toEqual(["item-1"]);

    // And the other way round: a customer-data key posts no funnel events.
    const dataOnly = createApiKey(h.db, "data only", admin(), ["customer_data"]).secret;
    const res = (await events.action({ request: new Request(`${ORIGIN}/api/events`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${dataOnly}` }, body: "{}" }), context: h.context(), params: {} })) as Response;
    expect(res.status).toBe(403);
  });

  it("answers 415, 400, 413 and 422 for bodies it cannot use, storing nothing", async () => {
    expect((await post({}, { contentType: "text/plain", raw: "x" })).status).toBe(415);
    expect((await post({}, { raw: "{not json" })).body.error).toBe("invalid_json");
    expect((await post({ items: [] })).body.error).toBe("invalid_batch");
    expect((await post({ entries: [] })).body.error).toBe("empty_batch");
    expect((await post({ entries: Array.from({ length: 501 }, (_, i) => item({ item_id: `i${i}` })) })).status).toBe(413);
    expect((await post({ entries: [item()] }, { raw: JSON.stringify({ entries: [item({ institution_name: "x".repeat(1024 * 1024) })] }) })).status).toBe(413);
    const bad = await entries({ type: "plaid_item", customer_hash: "cust-00001", item_id: "x" });
    expect(bad.status).toBe(422);
    expect(h.db.select().from(plaidItems).all()).toHaveLength(0);
    expect(h.db.select({ n: apiKeys.entriesAccepted }).from(apiKeys).where(eq(apiKeys.name, "backend")).get()!.n).toBe(0);
  });
});

describe("POST /api/customer-data: entries", () => {
  it("registers an item with its access token encrypted, answers unchanged the second time and accepted for a change", async () => {
    const first = await entries(item({ access_token: "access-sandbox-abc" }));
    expect(first.body).toMatchObject({ accepted: 1, unchanged: 0, refused: 0, results: [{ index: 0, type: "plaid_item", id: "item-1", status: "accepted" }] });
    const row = h.db.select().from(plaidItems).get()!;
    expect(row).toMatchObject({ customerHash: A, source: "publisher", status: "active", institutionName: "First Platypus Bank" });
    expect(row.accessTokenEnc).not.toContain("access-sandbox-abc");
    expect(decryptToken(h.config.tokenEncryptionKey, row.accessTokenEnc!, tokenBinding.accessToken(row.itemId))).toBe("access-sandbox-abc");
    expect(ownerOf(h.db, "item", "item-1")).toBe(A);

    expect((await entries(item({ access_token: "access-sandbox-abc" }))).body.results[0]!.status).toBe("unchanged");
    expect((await entries(item({ institution_name: "Platypus" }))).body.results[0]!.status).toBe("accepted");
    expect(h.db.select().from(plaidItems).get()!.institutionName).toBe("Platypus");
    expect(h.db.select({ n: apiKeys.entriesAccepted }).from(apiKeys).where(eq(apiKeys.name, "backend")).get()!.n).toBe(2);
  });

  it("refuses an id that belongs to another customer, records the attempt and keeps the first owner", async () => {
    await entries(item());
    const second = await entries(item({ customer_hash: B }), { type: "link_session", customer_hash: B, link_session_id: "ls-1", item_id: "item-1" });
    expect(second.status).toBe(422);
    expect(second.body.results.map((r) => [r.status, r.errors?.[0]?.field])).toEqual([
      ["refused", "item_id"],
      ["refused", "item_id"],
    ]);
    expect(second.body.results[0]!.errors![0]!.message).toMatch(/another customer/);
    expect(ownerOf(h.db, "item", "item-1")).toBe(A);
    // The refused Link session left nothing behind either: its savepoint was undone.
    expect(ownerOf(h.db, "link_session", "ls-1")).toBeNull();
    expect(h.db.select().from(linkSessions).all()).toHaveLength(0);
    expect(h.db.select().from(customerIdConflicts).all()).toMatchObject([
      { kind: "item", value: "item-1", ownerHash: A, claimedHash: B, source: "publisher" },
      { kind: "item", value: "item-1", ownerHash: A, claimedHash: B, source: "publisher" },
    ]);
  });

  it("refuses raw customer ids by name, unknown fields and malformed entries, one by one, keeping the good ones", async () => {
    const res = await entries(
      { ...item(), customer_id: "cust-00001" },
      { type: "check_user", customer_hash: A },
      { type: "nope", customer_hash: A },
      { type: "processor_token", customer_hash: A, item_id: "item-9", account_id: "acc", token_hint: "processor-sandbox-…abcd" },
      item({ item_id: "item-ok" }),
    );
    expect(res.status).toBe(200);
    const [raw, user, type, token, ok] = res.body.results;
    expect(raw!.status).toBe("refused");
    expect(raw!.errors![0]!.message).toMatch(/customer_id: a raw customer identity is never accepted/);
    expect(user!.errors![0]).toMatchObject({ field: "user_id", message: expect.stringMatching(/user_id .*user_token/) });
    expect(type!.errors![0]!.message).toMatch(/type must be one of/);
    expect(token!.errors![0]).toMatchObject({ field: "item_id", message: expect.stringMatching(/register the plaid_item first/) });
    expect(ok!.status).toBe("accepted");
  });

  it("registers a Link session, a Check user, a processor token with its Cardlytics result, and a report request", async () => {
    const res = await entries(
      item(),
      { type: "link_session", customer_hash: A, link_session_id: "ls-1", link_token: "link-sandbox-1", item_id: "item-1" },
      { type: "check_user", customer_hash: A, user_id: "usr_1" },
      { type: "processor_token", customer_hash: A, item_id: "item-1", account_id: "acc-1", processor_token: "processor-sandbox-1234", cardlytics: { result: "connected", request_id: "cdlx-1" } },
      { type: "check_report", customer_hash: A, request_id: "req-1", products: ["cra_base_report"], purpose: "ACCOUNT_REVIEW_CREDIT" },
    );
    expect(res.body).toMatchObject({ accepted: 5, refused: 0 });
    expect(decryptToken(h.config.tokenEncryptionKey, h.db.select().from(linkSessions).get()!.linkTokenEnc!, tokenBinding.linkToken(h.db.select().from(linkSessions).get()!.linkSessionId))).toBe("link-sandbox-1");
    expect(h.db.select().from(craUsers).get()).toMatchObject({ customerHash: A, userId: "usr_1", generation: "new", source: "publisher" });
    expect(h.db.select().from(processorTokens).get()).toMatchObject({ tokenHint: "processor-sandbox-…1234", cardlyticsResult: "connected", cardlyticsRequestId: "cdlx-1", source: "publisher" });
    expect(ownerOf(h.db, "cardlytics_account", "acc-1")).toBe(A);
    expect(h.db.select().from(craReports).get()).toMatchObject({ status: "pending", origin: "publisher", plaidRequestId: "req-1", customerHash: A });

    // Idempotent, all of it.
    const again = await entries(
      item(),
      { type: "link_session", customer_hash: A, link_session_id: "ls-1", link_token: "link-sandbox-1", item_id: "item-1" },
      { type: "check_user", customer_hash: A, user_id: "usr_1" },
      { type: "processor_token", customer_hash: A, item_id: "item-1", account_id: "acc-1", processor_token: "processor-sandbox-1234", cardlytics: { result: "connected", request_id: "cdlx-1" } },
      { type: "check_report", customer_hash: A, request_id: "req-1" },
    );
    expect(again.body).toMatchObject({ accepted: 0, unchanged: 5 });
    expect(h.db.select().from(craReports).all()).toHaveLength(1);

    // Removing the item revokes its processor tokens.
    expect((await entries(item({ action: "remove" }))).body.results[0]!.status).toBe("accepted");
    expect(h.db.select().from(plaidItems).get()!.status).toBe("removed");
    expect(h.db.select().from(processorTokens).get()!.revokedAt).not.toBeNull();
    expect((await entries(item({ action: "remove" }))).body.results[0]!.status).toBe("unchanged");
  });
});

describe("attribution", () => {
  it("gives a customer the webhooks that arrived before their item, Check user and Link session were registered, and applies them", async () => {
    await deliver({ webhook_type: "ITEM", webhook_code: "ERROR", item_id: "item-late", error: { error_code: "ITEM_LOGIN_REQUIRED" }, environment: "sandbox" });
    await deliver({ webhook_type: "CHECK_REPORT", webhook_code: "USER_CHECK_REPORT_READY", user_id: "usr_late", successful_products: ["cra_base_report"], environment: "sandbox" });
    await deliver({ webhook_type: "LINK", webhook_code: "EVENTS", link_session_id: "ls-late", events: [{ event_name: "OPEN", event_id: "ev-1", timestamp: new Date(sims.clock.now()).toISOString() }], environment: "sandbox" });
    expect(h.db.select().from(webhookDeliveries).all().map((d) => d.customerHash)).toEqual([null, null, null]);
    expect(h.db.select().from(webhookEvents).all().map((e) => e.handlingStatus)).toEqual(["ignored", "ignored", "handled"]);

    const res = await entries(
      item({ item_id: "item-late" }),
      { type: "check_user", customer_hash: A, user_id: "usr_late" },
      { type: "link_session", customer_hash: A, link_session_id: "ls-late" },
    );
    expect(res.body.accepted).toBe(3);
    expect(h.db.select().from(webhookDeliveries).all().map((d) => d.customerHash)).toEqual([A, A, A]);
    expect(h.db.select().from(webhookEvents).all().map((e) => [e.customerHash, e.handlingStatus])).toEqual([
      [A, "handled"],
      [A, "handled"],
      [A, "handled"],
    ]);
    // The late ITEM error now shows on the item, and the late report is on record, settled by its webhook.
    expect(h.db.select().from(plaidItems).get()).toMatchObject({ status: "login-required", errorCode: "ITEM_LOGIN_REQUIRED" });
    expect(h.db.select().from(craReports).get()).toMatchObject({ customerHash: A, status: "ready", origin: "plaid", settledBy: "webhook" });
    // The Link session's funnel step waited too.
    expect(h.db.select().from(funnelCustomers).get()).toMatchObject({ customerHash: A });
  });

  it("attributes a webhook at once when its id is already registered, through events as well as registrations", async () => {
    const ev = (await events.action({
      request: new Request(`${ORIGIN}/api/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
        body: JSON.stringify({ events: [{ event_id: "e1", name: "link_started", occurred_at: new Date(sims.clock.now()).toISOString(), customer_hash: B, link_session_id: "ls-b" }] }),
      }),
      context: h.context(),
      params: {},
    })) as Response;
    expect(ev.status).toBe(200);
    await deliver({ webhook_type: "LINK", webhook_code: "SESSION_FINISHED", link_session_id: "ls-b", status: "success", environment: "sandbox" });
    expect(h.db.select().from(webhookDeliveries).get()!.customerHash).toBe(B);
    // Either path feeds the same graph: the registration API now refuses that session for another customer.
    const res = await entries({ type: "link_session", customer_hash: A, link_session_id: "ls-b" });
    expect(res.body.results[0]!.status).toBe("refused");
  });

  it("explains a 204 when the backend reported a connected processor token: Cardlytics took it under another id, silently", async () => {
    const plaid = new PlaidApi(new Configuration({ basePath: sims.plaid.url, baseOptions: { headers: { "PLAID-CLIENT-ID": sims.env.PLAID_CLIENT_ID, "PLAID-SECRET": sims.env.PLAID_SECRET } } }));
    const { data: minted } = await plaid.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions] });
    const { data: item } = await plaid.itemPublicTokenExchange({ public_token: minted.public_token });
    const { data: accounts } = await plaid.accountsGet({ access_token: item.access_token });
    const accountId = accounts.accounts[0]!.account_id;
    const { data: processor } = await plaid.processorTokenCreate({ access_token: item.access_token, account_id: accountId, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
    // The backend's bug: it sends the raw internal id, which Cardlytics takes without complaint (a "string").
    const cardlytics = async (path: string, init: { headers: Record<string, string>; body: string }) => {
      const res = await undiciRequest(`${sims.env.CARDLYTICS_BASE_URL}${path}`, { method: "POST", headers: { "content-type": "application/json", ...init.headers }, body: init.body });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
    };
    const session = await cardlytics("/v2/session/startSession", { headers: { "x-source-customer-id": "cust-raw-7" }, body: JSON.stringify({ clientId: sims.env.CARDLYTICS_CLIENT_ID, secret: sims.env.CARDLYTICS_SECRET }) });
    const connected = await cardlytics("/v2/data/connections", { headers: { authorization: `Bearer ${String(session.json.sessionToken)}`, "x-source-customer-id": "cust-raw-7" }, body: JSON.stringify({ processorToken: processor.processor_token }) });
    expect(connected.status).toBe(200);
    const hash = "c".repeat(64);
    const res = await entries(
      { type: "plaid_item", customer_hash: hash, item_id: item.item_id, institution_id: "ins_109508", access_token: item.access_token },
      { type: "processor_token", customer_hash: hash, item_id: item.item_id, account_id: accountId, processor_token: processor.processor_token, cardlytics: { result: "connected", request_id: String(connected.json.requestId) } },
    );
    expect(res.body.refused).toBe(0);
    const page = await customerPage.loader({ request: await h.request(`/customers/${hash}`, { role: "support" }), context: h.context(), params: { hash } });
    expect(await page.verdict).toMatchObject({ answer: "no", code: "connected-under-another-id", nextStep: expect.stringContaining("HMAC-SHA-256") });
  });
});
