import { createHash } from "node:crypto";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { Configuration, PlaidApi, Products, ProcessorTokenCreateRequestProcessorEnum, ConsumerReportPermissiblePurpose } from "plaid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../simulators/shared/clock";
import { FaultSet } from "../../simulators/shared/faults";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { startWebhookReceiver, type Received } from "../support/webhook-receiver";
import { plaidError } from "../support/plaid-error";

const CLIENT_ID = "sim-client-id";
const SECRET = "sim-secret-0123456789";

let clock: ManualClock;
let faults: FaultSet;
let sim: PlaidSimulator;
let plaid: PlaidApi;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

function client(id = CLIENT_ID, secret = SECRET, extraHeaders: Record<string, string> = {}) {
  return new PlaidApi(new Configuration({ basePath: sim.url, baseOptions: { headers: { "PLAID-CLIENT-ID": id, "PLAID-SECRET": secret, ...extraHeaders } } }));
}

/** The Plaid error a call fails with, as the official client surfaces it. */
beforeAll(async () => {
  clock = new ManualClock();
  faults = new FaultSet();
  sim = await startPlaidSimulator({ clientId: CLIENT_ID, secret: SECRET, clock, faults, settings: { reportDelayMs: 10_000 } });
  plaid = client();
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await sim.close();
  await receiver.close();
});

async function newItem(options: Record<string, string> = {}, institution = "ins_109508") {
  const { data: minted } = await plaid.sandboxPublicTokenCreate({ institution_id: institution, initial_products: [Products.Transactions], options: { webhook: receiver.url, ...options } });
  const { data: exchanged } = await plaid.itemPublicTokenExchange({ public_token: minted.public_token });
  return { publicToken: minted.public_token, ...exchanged };
}

/** Plaid's documented verification procedure, written from the docs with jose. */
async function verifyWebhook(delivery: Received, maxAgeSeconds = 300) {
  const jwt = String(delivery.headers["plaid-verification"]);
  const protectedHeader = decodeProtectedHeader(jwt);
  if (protectedHeader.alg !== "ES256") throw new Error("not ES256");
  const { data } = await plaid.webhookVerificationKeyGet({ key_id: protectedHeader.kid! });
  const key = await importJWK(data.key as unknown as Parameters<typeof importJWK>[0], "ES256");
  const { payload } = await jwtVerify(jwt, key, { maxTokenAge: `${maxAgeSeconds} seconds`, currentDate: new Date(clock.now()) });
  const digest = createHash("sha256").update(delivery.body).digest("hex");
  if (payload.request_body_sha256 !== digest) throw new Error("body hash mismatch");
  return { kid: protectedHeader.kid, payload };
}

describe("conventions", () => {
  it("refuses wrong keys with 400 INVALID_API_KEYS and missing ones with 400 INVALID_FIELD", async () => {
    expect(await plaidError(client("sim-client-id", "wrong").itemGet({ access_token: "access-sandbox-x" }))).toMatchObject({ status: 400, error_type: "INVALID_INPUT", error_code: "INVALID_API_KEYS", request_id: expect.any(String) });
    expect(await plaidError(client("", "").itemGet({ access_token: "access-sandbox-x" }))).toMatchObject({ status: 400, error_type: "INVALID_REQUEST", error_code: "INVALID_FIELD" });
  });

  it("accepts credentials in the body as well as in headers", async () => {
    const res = await fetch(`${sim.url}/sandbox/public_token/create`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ client_id: CLIENT_ID, secret: SECRET, institution_id: "ins_109508", initial_products: ["auth"] }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ public_token: expect.stringMatching(/^public-sandbox-/), request_id: expect.any(String) });
  });

  it.each([
    ["malformed JSON", "/item/get", "{nope", 400, "INVALID_BODY"],
    ["a JSON array", "/item/get", "[]", 400, "INVALID_BODY"],
    ["a missing field", "/item/get", JSON.stringify({ client_id: CLIENT_ID, secret: SECRET }), 400, "MISSING_FIELDS"],
    ["a field of the wrong type", "/item/get", JSON.stringify({ client_id: CLIENT_ID, secret: SECRET, access_token: 42 }), 400, "INVALID_FIELD"],
    ["an unknown field", "/item/get", JSON.stringify({ client_id: CLIENT_ID, secret: SECRET, access_token: "access-sandbox-1", color: "red" }), 400, "UNKNOWN_FIELDS"],
    ["an unknown path", "/no/such/endpoint", "{}", 404, "NOT_FOUND"],
  ])("answers %s with Plaid's error object", async (_case, path, body, status, code) => {
    const res = await fetch(`${sim.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
    expect(res.status).toBe(status);
    expect(Object.keys((await res.json()) as object)).toEqual(["display_message", "documentation_url", "error_code", "error_message", "error_type", "request_id", "suggested_action"]);
    const again = (await (await fetch(`${sim.url}${path}`, { method: "POST", body })).json()) as { error_code: string };
    expect(again.error_code).toBe(code);
  });
});

describe("items and processor tokens", () => {
  it("mints, exchanges once, lists accounts, and creates a Cardlytics processor token that /item/remove revokes", async () => {
    const item = await newItem();
    expect(item.access_token).toMatch(/^access-sandbox-/);
    expect(await plaidError(plaid.itemPublicTokenExchange({ public_token: item.publicToken }))).toMatchObject({ error_code: "INVALID_PUBLIC_TOKEN" });
    const { data: accounts } = await plaid.accountsGet({ access_token: item.access_token });
    expect(accounts.accounts.map((a) => a.mask)).toEqual(["0000", "1111", "2222", "3333", "4444"]);
    expect(accounts.item).toMatchObject({ institution_id: "ins_109508", institution_name: "First Platypus Bank", webhook: receiver.url, error: null });
    const checking = accounts.accounts[0]!;
    const { data: processor } = await plaid.processorTokenCreate({ access_token: item.access_token, account_id: checking.account_id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
    expect(processor.processor_token).toMatch(/^processor-sandbox-/);
    const { data: viaProcessor } = await plaid.processorAccountGet({ processor_token: processor.processor_token });
    expect(viaProcessor).toMatchObject({ account: { account_id: checking.account_id, mask: "0000" }, institution_id: "ins_109508" });
    const { data: itemGet } = await plaid.itemGet({ access_token: item.access_token });
    expect(itemGet.item.item_id).toBe(item.item_id);
    await plaid.itemRemove({ access_token: item.access_token });
    expect(await plaidError(plaid.processorAccountGet({ processor_token: processor.processor_token }))).toMatchObject({ error_code: "INVALID_PROCESSOR_TOKEN" });
    expect(await plaidError(plaid.accountsGet({ access_token: item.access_token }))).toMatchObject({ error_code: "ITEM_NOT_FOUND" });
  });

  it("lets a public token expire after 30 minutes", async () => {
    const { data } = await plaid.sandboxPublicTokenCreate({ institution_id: "ins_109509", initial_products: [Products.Auth] });
    clock.advance(30 * 60_000);
    expect(await plaidError(plaid.itemPublicTokenExchange({ public_token: data.public_token }))).toMatchObject({ status: 400, error_code: "INVALID_PUBLIC_TOKEN" });
  });

  it("refuses an account from another item, and a processor outside the enum", async () => {
    const a = await newItem();
    const b = await newItem();
    const { data: bAccounts } = await plaid.accountsGet({ access_token: b.access_token });
    expect(await plaidError(plaid.processorTokenCreate({ access_token: a.access_token, account_id: bAccounts.accounts[0]!.account_id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics }))).toMatchObject({ error_code: "INVALID_ACCOUNT_ID" });
    expect(await plaidError(plaid.processorTokenCreate({ access_token: a.access_token, account_id: bAccounts.accounts[0]!.account_id, processor: "not_a_processor" as ProcessorTokenCreateRequestProcessorEnum }))).toMatchObject({ error_code: "INVALID_FIELD" });
  });

  it.each([
    [{ override_username: "user_good", override_password: "error_ITEM_LOCKED" }, "ins_109508", 400, "ITEM_LOCKED"],
    [{ override_username: "user_good", override_password: "error_INTERNAL_SERVER_ERROR" }, "ins_109508", 500, "INTERNAL_SERVER_ERROR"],
    [{ override_username: "user_good", override_password: "wrong" }, "ins_109508", 400, "INVALID_CREDENTIALS"],
    [{}, "ins_132361", 400, "INSTITUTION_DOWN"],
    [{}, "ins_999999", 400, "INVALID_INSTITUTION"],
  ])("gives the documented error for %o at %s", async (options, institution, status, code) => {
    expect(await plaidError(plaid.sandboxPublicTokenCreate({ institution_id: institution, initial_products: [Products.Transactions], options }))).toMatchObject({ status, error_code: code });
  });

  it("accepts the income and credit personas with their documented passwords", async () => {
    const { data } = await plaid.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions], options: { override_username: "user_bank_income", override_password: "{}" } });
    expect(data.public_token).toMatch(/^public-sandbox-/);
    const { data: sandboxProcessor } = await plaid.sandboxProcessorTokenCreate({ institution_id: "ins_109508", options: { override_username: "user_credit_profile_good", override_password: "anything" } });
    expect((await plaid.processorAccountGet({ processor_token: sandboxProcessor.processor_token })).data.account.mask).toBe("4410");
  });
});

describe("webhooks", () => {
  it("signs each webhook so Plaid's documented verification accepts it, and a tampered body fails it", async () => {
    const item = await newItem();
    await plaid.sandboxItemResetLogin({ access_token: item.access_token });
    await sim.webhooks.idle();
    const delivery = receiver.byCode("ERROR").find((d) => d.json.item_id === item.item_id)!;
    expect(delivery.json).toMatchObject({ webhook_type: "ITEM", webhook_code: "ERROR", error: { error_code: "ITEM_LOGIN_REQUIRED" }, environment: "sandbox" });
    expect(delivery.body.toString()).toBe(JSON.stringify(delivery.json, null, 2));
    expect(await verifyWebhook(delivery)).toMatchObject({ payload: { request_body_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const tampered = { ...delivery, body: Buffer.from(delivery.body.toString().replace("ITEM_LOGIN_REQUIRED", "ITEM_LOGIN_REQUIRES")) };
    await expect(verifyWebhook(tampered)).rejects.toThrow("body hash mismatch");
    const reindented = { ...delivery, body: Buffer.from(JSON.stringify(delivery.json, null, 4)) };
    await expect(verifyWebhook(reindented)).rejects.toThrow("body hash mismatch");
    expect((await plaid.itemGet({ access_token: item.access_token })).data.item.error?.error_code).toBe("ITEM_LOGIN_REQUIRED");
    expect(await plaidError(plaid.accountsGet({ access_token: item.access_token }))).toMatchObject({ error_code: "ITEM_LOGIN_REQUIRED" });
  });

  it("rotates keys: new webhooks carry the new kid and the old key is served with expired_at", async () => {
    const before = sim.keys.current.jwk.kid;
    const rotated = (await (await fetch(`${sim.url}/__sim/plaid/keys/rotate`, { method: "POST" })).json()) as { key: { kid: string } };
    expect(rotated.key.kid).not.toBe(before);
    const item = await newItem();
    await plaid.sandboxItemFireWebhook({ access_token: item.access_token, webhook_code: "LOGIN_REPAIRED" as never });
    await sim.webhooks.idle();
    const delivery = receiver.byCode("LOGIN_REPAIRED").at(-1)!;
    expect((await verifyWebhook(delivery)).kid).toBe(rotated.key.kid);
    const { data: old } = await plaid.webhookVerificationKeyGet({ key_id: before });
    expect(old.key.expired_at).toBe(Math.floor(clock.now() / 1000));
    expect(await plaidError(plaid.webhookVerificationKeyGet({ key_id: "not-a-kid" }))).toMatchObject({ error_code: "INVALID_WEBHOOK_VERIFICATION_KEY_ID" });
  });

  it("fires the documented sandbox codes, refuses an item without a webhook, and acknowledges a webhook update at the new URL", async () => {
    const item = await newItem();
    for (const code of ["PENDING_DISCONNECT", "USER_PERMISSION_REVOKED", "NEW_ACCOUNTS_AVAILABLE"]) {
      await plaid.sandboxItemFireWebhook({ access_token: item.access_token, webhook_code: code as never });
    }
    await plaid.sandboxItemFireWebhook({ access_token: item.access_token, webhook_type: "TRANSACTIONS" as never, webhook_code: "DEFAULT_UPDATE" as never });
    await sim.webhooks.idle();
    const mine = receiver.received.filter((r) => r.json.item_id === item.item_id);
    expect(mine.map((r) => `${r.json.webhook_type}/${r.json.webhook_code}`)).toEqual(["ITEM/PENDING_DISCONNECT", "ITEM/USER_PERMISSION_REVOKED", "ITEM/NEW_ACCOUNTS_AVAILABLE", "TRANSACTIONS/DEFAULT_UPDATE"]);
    expect(mine[0]!.json).toMatchObject({ reason: "INSTITUTION_TOKEN_EXPIRATION", disconnect_time: expect.any(String) });

    const quiet = await newItem({ webhook: "" });
    await plaid.itemWebhookUpdate({ access_token: quiet.access_token, webhook: null });
    expect(await plaidError(plaid.sandboxItemFireWebhook({ access_token: quiet.access_token, webhook_code: "LOGIN_REPAIRED" as never }))).toMatchObject({ error_code: "SANDBOX_WEBHOOK_INVALID" });
    const other = await startWebhookReceiver();
    await plaid.itemWebhookUpdate({ access_token: quiet.access_token, webhook: other.url });
    await sim.webhooks.idle();
    expect(other.received.map((r) => r.json)).toEqual([{ webhook_type: "ITEM", webhook_code: "WEBHOOK_UPDATE_ACKNOWLEDGED", item_id: quiet.item_id, new_webhook_url: other.url, error: null, environment: "sandbox" }]);
    await other.close();
  });

  it("retries a refused delivery after 30 s and then at four times the previous wait", async () => {
    const item = await newItem();
    receiver.answerNext(500, 503);
    await plaid.sandboxItemFireWebhook({ access_token: item.access_token, webhook_code: "NEW_ACCOUNTS_AVAILABLE" as never });
    await sim.webhooks.idle();
    const delivery = sim.webhooks.deliveries.at(-1)!;
    expect(delivery.attempts.map((a) => a.status)).toEqual([500]);
    clock.advance(29_999);
    await sim.webhooks.idle();
    expect(delivery.attempts).toHaveLength(1);
    clock.advance(1);
    await sim.webhooks.idle();
    expect(delivery.attempts.map((a) => a.status)).toEqual([500, 503]);
    clock.advance(119_999);
    await sim.webhooks.idle();
    expect(delivery.attempts).toHaveLength(2);
    clock.advance(1);
    await sim.webhooks.idle();
    expect(delivery.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
    expect(delivery.state).toBe("delivered");
  });
});

describe("Link sessions", () => {
  it("plays a finished session with LINK webhooks and a public token, and an abandoned one without", async () => {
    const { data } = await plaid.linkTokenCreate({ client_name: "Linkdesk", language: "en", country_codes: ["US" as never], user: { client_user_id: "cust-hash-1" }, products: [Products.Transactions], webhook: receiver.url });
    const run = async (body: object) => (await (await fetch(`${sim.url}/__sim/plaid/link/session`, { method: "POST", body: JSON.stringify({ link_token: data.link_token, institution_id: "ins_109511", ...body }) })).json()) as { link_session_id: string; status: string; public_token: string | null };
    const finished = await run({});
    const dropped = await run({ exit_after: "SELECT_INSTITUTION" });
    await sim.webhooks.idle();
    expect(finished).toMatchObject({ status: "success", public_token: expect.stringMatching(/^public-sandbox-/) });
    expect(dropped).toMatchObject({ status: "exited", public_token: null });
    const forSession = (id: string) => receiver.received.filter((r) => r.json.link_session_id === id).map((r) => r.json);
    const finishedHooks = forSession(finished.link_session_id);
    expect(finishedHooks.map((h) => h.webhook_code)).toEqual(["EVENTS", "ITEM_ADD_RESULT", "SESSION_FINISHED"]);
    expect((finishedHooks[0]!.events as { event_name: string; event_metadata: { view_name: string } }[]).map((e) => `${e.event_name}:${e.event_metadata.view_name}`)).toEqual(["OPEN:OPEN", "SELECT_INSTITUTION:SELECT_INSTITUTION", "SUBMIT_CREDENTIALS:SUBMIT_CREDENTIALS", "TRANSITION_VIEW:SELECT_ACCOUNT", "HANDOFF:HANDOFF"]);
    const droppedHooks = forSession(dropped.link_session_id);
    expect(droppedHooks.map((h) => h.webhook_code)).toEqual(["EVENTS", "SESSION_FINISHED"]);
    expect(droppedHooks[1]).toMatchObject({ status: "exited" });
    const exchanged = await plaid.itemPublicTokenExchange({ public_token: finished.public_token! });
    expect(exchanged.data.item_id).toHaveLength(37);
    const { data: tokenInfo } = await plaid.linkTokenGet({ link_token: data.link_token });
    expect(tokenInfo.link_sessions).toHaveLength(2);
  });
});

describe("Plaid Check", () => {
  const identity = {
    name: { given_name: "Alice", family_name: "Johnson" },
    date_of_birth: "1988-07-22",
    emails: [{ data: "alice@example.com", primary: true }],
    phone_numbers: [{ data: "+14155550123", primary: true }],
    addresses: [{ street_1: "123 Main St", city: "Anytown", region: "CA", postal_code: "90210", country: "US", primary: true }],
  };
  // The simulator's client began before the new User API (the guide's generation); the header opts a request in.
  const legacy = () => plaid;
  const newApi = () => client(CLIENT_ID, SECRET, { "Plaid-New-User-API-Enabled": "true" });

  it("creates new-generation users idempotently and refuses a repeated client_user_id on the legacy generation", async () => {
    const first = await newApi().userCreate({ client_user_id: "cust-cra-1", identity } as never);
    const second = await newApi().userCreate({ client_user_id: "cust-cra-1", identity } as never);
    expect(first.data.user_id).toMatch(/^usr_[A-Za-z0-9]{14}$/);
    expect(second.data.user_id).toBe(first.data.user_id);
    expect((await newApi().userGet({ user_id: first.data.user_id })).data).toMatchObject({ client_user_id: "cust-cra-1" });
    const old = await legacy().userCreate({ client_user_id: "cust-cra-legacy" });
    expect(old.data).toMatchObject({ user_token: expect.stringMatching(/^user-sandbox-/), user_id: expect.stringMatching(/^[A-Za-z0-9]{29}$/) });
    expect(await plaidError(legacy().userCreate({ client_user_id: "cust-cra-legacy" }))).toMatchObject({ status: 400, error_code: "INVALID_FIELD", error_message: expect.stringContaining("already been created") });
    expect(await plaidError(newApi().userCreate({ client_user_id: "cust-cra-2", identity: { ...identity, phone_numbers: [{ data: "+10005550123", primary: true }] } } as never))).toMatchObject({ status: 403, error_type: "USER_ERROR", error_code: "INVALID_USER_IDENTITY_DATA" });
  });

  it("removes a user with its items; the new generation may then reuse the client_user_id, the legacy one never", async () => {
    const first = (await newApi().userCreate({ client_user_id: "cust-remove" })).data;
    await plaid.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions], user_id: first.user_id } as never);
    expect((await plaid.userItemsGet({ user_id: first.user_id })).data.items).toHaveLength(1);
    await plaid.userRemove({ user_id: first.user_id });
    expect(await plaidError(plaid.userItemsGet({ user_id: first.user_id }))).toMatchObject({ error_code: "USER_NOT_FOUND" });
    const again = (await newApi().userCreate({ client_user_id: "cust-remove" })).data;
    expect(again.user_id).not.toBe(first.user_id);
    const old = (await legacy().userCreate({ client_user_id: "cust-remove-legacy" })).data;
    await legacy().userRemove({ user_token: old.user_token });
    expect(await plaidError(legacy().userCreate({ client_user_id: "cust-remove-legacy" }))).toMatchObject({ error_code: "INVALID_FIELD" });
  });

  async function userWithItem(username: string, password: string, api = plaid, clientUserId = `cust-${Math.random()}`) {
    const created = (await api.userCreate({ client_user_id: clientUserId })).data;
    await api.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions], options: { override_username: username, override_password: password }, ...(created.user_token ? { user_token: created.user_token } : { user_id: created.user_id }) });
    return created;
  }

  const createReport = (api: PlaidApi, user: { user_id: string; user_token?: string }) =>
    api.craCheckReportCreate({ ...(user.user_token ? { user_token: user.user_token } : { user_id: user.user_id }), webhook: receiver.url, days_requested: 365, consumer_report_permissible_purpose: ConsumerReportPermissiblePurpose.AccountReviewCredit, products: [Products.CraIncomeInsights] } as never);

  it("goes from not ready to ready with a USER_CHECK_REPORT_READY webhook, and expires 24 hours after its creation", async () => {
    const user = await userWithItem("user_bank_income", "{}", newApi());
    const { data } = await createReport(plaid, user);
    expect(Object.keys(data)).toEqual(["request_id"]);
    expect(await plaidError(plaid.craCheckReportBaseReportGet({ user_id: user.user_id }))).toMatchObject({ status: 400, error_type: "CONSUMER_REPORT_ERROR", error_code: "PRODUCT_NOT_READY" });
    clock.advance(10_000);
    await sim.webhooks.idle();
    const hook = receiver.byCode("USER_CHECK_REPORT_READY").find((r) => r.json.user_id === user.user_id)!;
    expect(hook.json).toMatchObject({ webhook_type: "CHECK_REPORT", successful_products: ["cra_base_report", "cra_income_insights"], failed_products: [] });
    const { data: base } = await plaid.craCheckReportBaseReportGet({ user_id: user.user_id });
    expect(base.report.items[0]!.accounts.map((a) => a.mask)).toEqual(["0000", "1111"]);
    expect(base.report.attributes?.total_inflow_amount?.amount).toBeLessThan(0);
    const { data: income } = await plaid.craCheckReportIncomeInsightsGet({ user_id: user.user_id });
    expect(income.report?.income_streams[0]?.income_metrics.current?.monthly?.net_income).toBe(6250);
    // Created at T, ready at T+10 s: still readable a second before T+24 h, expired two seconds after it.
    clock.advance(24 * 3600_000 - 10_000 - 1000);
    expect((await plaid.craCheckReportBaseReportGet({ user_id: user.user_id })).data.report.report_id).toBe(base.report.report_id);
    clock.advance(3000);
    expect(await plaidError(plaid.craCheckReportBaseReportGet({ user_id: user.user_id }))).toMatchObject({ error_type: "CONSUMER_REPORT_ERROR", error_code: "CONSUMER_REPORT_EXPIRED" });
  });

  it("fails legacy reports with CHECK_REPORT_FAILED when the user's item needs login, with the causes", async () => {
    const user = await userWithItem("user_good", "pass_good", legacy());
    for (const item of sim.state.itemsOfUser(sim.state.userByKey(user.user_token!)!)) await plaid.sandboxItemResetLogin({ access_token: item.accessToken });
    await createReport(legacy(), user);
    clock.advance(10_000);
    await sim.webhooks.idle();
    expect(receiver.byCode("CHECK_REPORT_FAILED").find((r) => r.json.user_id === user.user_id)).toBeDefined();
    expect(await plaidError(legacy().craCheckReportBaseReportGet({ user_token: user.user_token }))).toMatchObject({ error_type: "CHECK_REPORT_ERROR", error_code: "DATA_UNAVAILABLE", causes: [expect.objectContaining({ error_code: "ITEM_LOGIN_REQUIRED" })] });
    const { data: items } = await legacy().userItemsGet({ user_token: user.user_token });
    expect(items.items[0]!.error?.error_code).toBe("ITEM_LOGIN_REQUIRED");
  });

  it("limits /cra/check_report/* to 100 requests a minute with 429 RATE_LIMIT_EXCEEDED", async () => {
    clock.advance(120_000);
    const user = (await newApi().userCreate({ client_user_id: "cust-rate" })).data;
    const results = await Promise.all(Array.from({ length: 101 }, () => plaidError(plaid.craCheckReportBaseReportGet({ user_id: user.user_id }))));
    expect(results.filter((r) => r.status === 429)).toHaveLength(1);
    expect(results.find((r) => r.status === 429)).toMatchObject({ error_type: "RATE_LIMIT_EXCEEDED" });
    clock.advance(60_000);
    expect(await plaidError(plaid.craCheckReportBaseReportGet({ user_id: user.user_id }))).toMatchObject({ status: 400, error_code: "PRODUCT_NOT_READY" });
  });
});

describe("faults", () => {
  it("injects 5xx, 429, latency and silence per endpoint, and clears them", async () => {
    faults.set("/item/get", { errorRate: 1 });
    expect(await plaidError(plaid.itemGet({ access_token: "access-sandbox-x" }))).toMatchObject({ status: 500, error_code: "INTERNAL_SERVER_ERROR" });
    const res = await fetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ "/item/get": { rateLimitRate: 1 } }) });
    expect(res.status).toBe(200);
    expect(await plaidError(plaid.itemGet({ access_token: "access-sandbox-x" }))).toMatchObject({ status: 429, error_type: "RATE_LIMIT_EXCEEDED" });
    faults.set("/item/get", { dropRate: 1 });
    await expect(fetch(`${sim.url}/item/get`, { method: "POST", body: "{}", signal: AbortSignal.timeout(300) })).rejects.toThrow();
    faults.set("*", { latencyMs: 200 });
    faults.clear("/item/get");
    const started = performance.now();
    expect(await plaidError(plaid.itemGet({ access_token: "access-sandbox-x" }))).toMatchObject({ error_code: "INVALID_ACCESS_TOKEN" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    expect((await fetch(`${sim.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ "*": { errorRate: 2 } }) })).status).toBe(400);
    await fetch(`${sim.url}/__sim/faults`, { method: "DELETE" });
    expect(faults.list()).toEqual({});
  });
});
