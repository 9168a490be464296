// The Consumer Report guide ("Add Consumer Report to your app"), followed step by step with the official client
// against the simulator over real HTTP: what a publisher's backend written from the guide sees.
import { Configuration, ConsumerReportPermissiblePurpose, CountryCode, PlaidApi, Products, ProcessorTokenCreateRequestProcessorEnum } from "plaid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../simulators/shared/clock";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { plaidError } from "../support/plaid-error";

const GUIDE_CLIENT = { clientId: "guide-client", secret: "guide-secret-0123" };
const NEW_CLIENT = { clientId: "new-user-api-client", secret: "new-secret-0123" };
const REPORT_DELAY = 10_000;
const LATE_DELAY = 20_000;

let clock: ManualClock;
let sim: PlaidSimulator;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

const api = (c: { clientId: string; secret: string }, headers: Record<string, string> = {}) =>
  new PlaidApi(new Configuration({ basePath: sim.url, baseOptions: { headers: { "PLAID-CLIENT-ID": c.clientId, "PLAID-SECRET": c.secret, ...headers } } }));

type Session = { link_session_id: string; status: string; public_token: string | null; public_tokens: string[]; metadata: { institution: { institution_id: string }; accounts: { id: string; mask: string; name: string; type: string; subtype: string }[] } | null };

/** The user going through Link (the simulator's stand-in for the Link UI). */
async function linkSession(body: Record<string, unknown>): Promise<Session> {
  const res = await fetch(`${sim.url}/__sim/plaid/link/session`, { method: "POST", body: JSON.stringify({ institution_id: "ins_109508", username: "user_bank_income", password: "{}", ...body }) });
  const json = (await res.json()) as Session & { error_code?: string };
  if (res.status !== 200) throw new Error(`link session refused: ${res.status} ${json.error_code}`);
  return json;
}

const hooksFor = (userId: string) => receiver.received.filter((r) => r.json.webhook_type === "CHECK_REPORT" && r.json.user_id === userId).map((r) => r.json);

async function settle(ms: number) {
  clock.advance(ms);
  await sim.webhooks.idle();
}

beforeAll(async () => {
  clock = new ManualClock();
  sim = await startPlaidSimulator({
    ...GUIDE_CLIENT,
    clock,
    settings: { reportDelayMs: REPORT_DELAY, lateProductDelayMs: LATE_DELAY },
    otherClients: [{ ...NEW_CLIENT, settings: { userApi: "new", cardlyticsIntegration: false } }],
  });
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

const identity = {
  first_name: "Carmen",
  last_name: "Berzatto",
  date_of_birth: "1987-01-31",
  emails: ["carmen@example.com"],
  phone_numbers: ["+13125550123"],
  primary_address: { street: "3200 W Chicago Ave", city: "Chicago", region: "IL", postal_code: "60651", country: "US" },
};

describe("Consumer Report through Link, as the guide describes it", () => {
  it("creates the user, links with Check products and a purpose, and gets CHECK_REPORT_READY for a report it can read with the user_token", async () => {
    const plaid = api(GUIDE_CLIENT);
    // Step 1: /user/create; "save the user_token and user_id".
    const { data: user } = await plaid.userCreate({ client_user_id: "guide-user-1", consumer_report_user_identity: identity });
    expect(user.user_token).toMatch(/^user-sandbox-/);
    expect(user.user_id).toMatch(/^[A-Za-z0-9]{29}$/);
    // Step 2: a link token with the user_token, Check products, a webhook and the permissible purpose.
    const { data: link } = await plaid.linkTokenCreate({
      user_token: user.user_token,
      user: { client_user_id: "guide-user-1" },
      client_name: "Rewards Demo",
      products: [Products.CraBaseReport, Products.CraIncomeInsights],
      country_codes: [CountryCode.Us],
      language: "en",
      webhook: receiver.url,
      cra_options: { days_requested: 60 },
      consumer_report_permissible_purpose: ConsumerReportPermissiblePurpose.AccountReviewCredit,
    });
    // The token keeps what it was made with (days below 180 are raised to 180).
    const { data: stored } = await plaid.linkTokenGet({ link_token: link.link_token });
    expect(stored.metadata).toMatchObject({ consumer_report_permissible_purpose: "ACCOUNT_REVIEW_CREDIT", cra_options: { days_requested: 180 }, webhook: receiver.url });
    expect(await plaidError(plaid.craCheckReportBaseReportGet({ user_token: user.user_token }))).toMatchObject({ error_code: "PRODUCT_NOT_READY" });

    // Step 3: the user completes Link. "Plaid Check will start generating the Consumer Report."
    const session = await linkSession({ link_token: link.link_token });
    expect(session.status).toBe("success");
    await sim.webhooks.idle();
    expect(hooksFor(user.user_id)).toEqual([]);
    expect(await plaidError(plaid.craCheckReportBaseReportGet({ user_token: user.user_token }))).toMatchObject({ error_code: "PRODUCT_NOT_READY" });
    await settle(REPORT_DELAY);
    // Step 4: the guide's webhook handler listens for CHECK_REPORT_READY.
    expect(hooksFor(user.user_id)).toEqual([expect.objectContaining({ webhook_code: "CHECK_REPORT_READY", successful_products: ["cra_base_report", "cra_income_insights"], failed_products: [] })]);
    const { data: base } = await plaid.craCheckReportBaseReportGet({ user_token: user.user_token });
    expect(base.report.days_requested).toBe(180);
    expect(base.report.items.map((i) => i.institution_id)).toEqual(["ins_109508"]);
    const { data: income } = await plaid.craCheckReportIncomeInsightsGet({ user_token: user.user_token });
    expect(income.report?.income_streams[0]?.income_metrics.current?.monthly?.net_income).toBe(6250);
    // A CRA-only flow needs no exchange, but the session's Items are the user's.
    const { data: items } = await plaid.userItemsGet({ user_token: user.user_token });
    expect(items.items).toHaveLength(1);
  });

  it("takes a Check link token without a purpose, links only, and reports when /cra/check_report/create is called later", async () => {
    const plaid = api(GUIDE_CLIENT);
    const { data: user } = await plaid.userCreate({ client_user_id: "guide-user-2", consumer_report_user_identity: identity });
    const { data: link } = await plaid.linkTokenCreate({ user_token: user.user_token, user: { client_user_id: "guide-user-2" }, client_name: "Rewards Demo", products: [Products.CraBaseReport], country_codes: [CountryCode.Us], language: "en", webhook: receiver.url, cra_options: { days_requested: 365 } });
    expect((await plaid.linkTokenGet({ link_token: link.link_token })).data.metadata).toMatchObject({ consumer_report_permissible_purpose: null });
    await linkSession({ link_token: link.link_token });
    await settle(REPORT_DELAY);
    expect(hooksFor(user.user_id)).toEqual([]);
    expect(await plaidError(plaid.craCheckReportBaseReportGet({ user_token: user.user_token }))).toMatchObject({ error_code: "PRODUCT_NOT_READY" });
    await plaid.craCheckReportCreate({ user_token: user.user_token, webhook: receiver.url, days_requested: 365, consumer_report_permissible_purpose: ConsumerReportPermissiblePurpose.ExtensionOfCredit });
    await settle(REPORT_DELAY);
    expect(hooksFor(user.user_id).map((h) => h.webhook_code)).toEqual(["CHECK_REPORT_READY"]);
    expect((await plaid.craCheckReportBaseReportGet({ user_token: user.user_token })).data.report.items).toHaveLength(1);
  });

  it("holds a client to the spec's older rule when that setting is on: no purpose, 400 INVALID_FIELD", async () => {
    const plaid = api(GUIDE_CLIENT);
    const { data: user } = await plaid.userCreate({ client_user_id: "guide-user-3" });
    const request = { user_token: user.user_token, user: { client_user_id: "guide-user-3" }, client_name: "Rewards Demo", products: [Products.CraBaseReport], country_codes: [CountryCode.Us], language: "en", cra_options: { days_requested: 365 } };
    const set = (on: boolean) => fetch(`${sim.url}/__sim/plaid/clients`, { method: "POST", body: JSON.stringify({ client_id: GUIDE_CLIENT.clientId, settings: { linkRequiresPermissiblePurpose: on } }) });
    expect((await set(true)).status).toBe(200);
    try {
      expect(await plaidError(plaid.linkTokenCreate(request))).toMatchObject({ status: 400, error_code: "INVALID_FIELD", error_message: "consumer_report_permissible_purpose is required with Plaid Check products" });
      expect((await plaid.linkTokenCreate({ ...request, consumer_report_permissible_purpose: ConsumerReportPermissiblePurpose.AccountReviewCredit })).data.link_token).toMatch(/^link-sandbox-/);
    } finally {
      await set(false);
    }
    expect((await plaid.linkTokenCreate(request)).data.link_token).toMatch(/^link-sandbox-/);
    const bad = await fetch(`${sim.url}/__sim/plaid/clients`, { method: "POST", body: JSON.stringify({ settings: { linkRequiresPermissiblePurpose: "yes" } }) });
    expect(bad.status).toBe(400);
  });

  it("refuses Check products without a user, without cra_base_report, or with a purpose outside the enum", async () => {
    const plaid = api(GUIDE_CLIENT);
    const base = { user: { client_user_id: "guide-user-4" }, client_name: "Rewards Demo", country_codes: [CountryCode.Us], language: "en" };
    expect(await plaidError(plaid.linkTokenCreate({ ...base, products: [Products.CraBaseReport] }))).toMatchObject({ status: 400, error_code: "MISSING_FIELDS" });
    const { data: user } = await plaid.userCreate({ client_user_id: "guide-user-4" });
    expect(await plaidError(plaid.linkTokenCreate({ ...base, user_token: user.user_token, products: [Products.CraIncomeInsights] }))).toMatchObject({ status: 400, error_code: "INVALID_FIELD" });
    expect(await plaidError(plaid.linkTokenCreate({ ...base, user_token: user.user_token, products: [Products.CraBaseReport], consumer_report_permissible_purpose: "EMPLOYMENT" as never }))).toMatchObject({ status: 400, error_code: "INVALID_FIELD" });
    expect(await plaidError(plaid.linkTokenCreate({ ...base, user_token: "user-sandbox-00000000-0000-0000-0000-000000000000", products: [Products.CraBaseReport] }))).toMatchObject({ status: 400, error_code: "INVALID_USER_TOKEN" });
  });
});

describe("both User API generations", () => {
  it("answers each client in its own generation, the header overriding it both ways, with the matching webhook codes", async () => {
    const older = api(GUIDE_CLIENT);
    const newer = api(NEW_CLIENT);
    // The client that began before the new User API: user_token, and a repeated client_user_id is an error.
    const { data: a } = await older.userCreate({ client_user_id: "gen-1" });
    expect(a.user_token).toMatch(/^user-sandbox-/);
    expect(await plaidError(older.userCreate({ client_user_id: "gen-1" }))).toMatchObject({ status: 400, error_code: "INVALID_FIELD", error_message: expect.stringContaining("already been created") });
    // The newer client: usr_ ids only, idempotent per client_user_id.
    const { data: b } = await newer.userCreate({ client_user_id: "gen-1" });
    expect(b).not.toHaveProperty("user_token");
    expect(b.user_id).toMatch(/^usr_/);
    expect((await newer.userCreate({ client_user_id: "gen-1" })).data.user_id).toBe(b.user_id);
    // The header overrides the client's generation, in both directions; with_upgraded_user opts an older client in.
    expect((await api(GUIDE_CLIENT, { "Plaid-New-User-API-Enabled": "true" }).userCreate({ client_user_id: "gen-2" })).data.user_id).toMatch(/^usr_/);
    expect((await older.userCreate({ client_user_id: "gen-3", with_upgraded_user: true })).data.user_id).toMatch(/^usr_/);
    expect((await api(NEW_CLIENT, { "Plaid-New-User-API-Enabled": "false" }).userCreate({ client_user_id: "gen-4" })).data.user_token).toMatch(/^user-sandbox-/);
    // Users belong to their client.
    expect(await plaidError(older.userItemsGet({ user_id: b.user_id }))).toMatchObject({ error_code: "USER_NOT_FOUND" });

    // Link-started reports on each: CHECK_REPORT_READY for the older generation, USER_CHECK_REPORT_READY for the new.
    for (const [client, user, userRef] of [[older, a, { user_token: a.user_token }], [newer, b, { user_id: b.user_id }]] as const) {
      const { data: link } = await client.linkTokenCreate({ ...userRef, user: { client_user_id: "gen-1" }, client_name: "Rewards Demo", products: [Products.CraBaseReport], country_codes: [CountryCode.Us], language: "en", webhook: receiver.url, cra_options: { days_requested: 365 }, consumer_report_permissible_purpose: ConsumerReportPermissiblePurpose.AccountReviewNonCredit });
      await linkSession({ link_token: link.link_token });
      await settle(REPORT_DELAY);
      expect(hooksFor(user.user_id).map((h) => h.webhook_code)).toEqual([client === older ? "CHECK_REPORT_READY" : "USER_CHECK_REPORT_READY"]);
    }
    // A failed generation in each: the user's only Item needs its login again. The ITEM webhook names a new-API user.
    for (const [client, user, userRef, code] of [[older, a, { user_token: a.user_token }, "CHECK_REPORT_FAILED"], [newer, b, { user_id: b.user_id }, "USER_CHECK_REPORT_FAILED"]] as const) {
      const item = sim.state.itemsOfUser(sim.state.userByKey(user.user_id)!)[0]!;
      await client.sandboxItemResetLogin({ access_token: item.accessToken });
      await sim.webhooks.idle();
      const itemHook = receiver.received.find((r) => r.json.webhook_type === "ITEM" && r.json.item_id === item.itemId)!.json;
      expect(itemHook.user_id).toBe(client === newer ? user.user_id : undefined);
      await client.craCheckReportCreate({ ...userRef, webhook: receiver.url, days_requested: 365, consumer_report_permissible_purpose: ConsumerReportPermissiblePurpose.AccountReviewNonCredit });
      await settle(REPORT_DELAY);
      expect(hooksFor(user.user_id).at(-1)).toMatchObject({ webhook_code: code, user_id: user.user_id });
    }
  });
});

describe("reports", () => {
  async function readyUser(clientUserId: string, username = "user_bank_income", password = "{}") {
    const plaid = api(GUIDE_CLIENT);
    const { data: user } = await plaid.userCreate({ client_user_id: clientUserId });
    const { data: link } = await plaid.linkTokenCreate({ user_token: user.user_token, user: { client_user_id: clientUserId }, client_name: "Rewards Demo", products: [Products.CraBaseReport], country_codes: [CountryCode.Us], language: "en", webhook: receiver.url, cra_options: { days_requested: 365 }, consumer_report_permissible_purpose: ConsumerReportPermissiblePurpose.AccountReviewCredit });
    await linkSession({ link_token: link.link_token, username, password });
    await settle(REPORT_DELAY);
    return { plaid, user };
  }

  it("makes a product the report was not generated with on request: PRODUCT_NOT_READY for a while, then the data", async () => {
    const { plaid, user } = await readyUser("late-1");
    const ask = () => plaid.craCheckReportPartnerInsightsGet({ user_token: user.user_token });
    expect(await plaidError(ask())).toMatchObject({ status: 400, error_type: "CONSUMER_REPORT_ERROR", error_code: "PRODUCT_NOT_READY" });
    clock.advance(LATE_DELAY - 1000);
    expect(await plaidError(ask())).toMatchObject({ error_code: "PRODUCT_NOT_READY" });
    clock.advance(1000);
    expect((await ask()).data.report?.prism?.status).toBe("SUCCESS");
    // The base report was there all along.
    expect((await plaid.craCheckReportBaseReportGet({ user_token: user.user_token })).data.report.items).toHaveLength(1);
  });

  it("fails a late product the user's data cannot support, after the same wait", async () => {
    const { plaid, user } = await readyUser("late-2", "user_good", "pass_good");
    const ask = () => plaid.craCheckReportIncomeInsightsGet({ user_token: user.user_token });
    expect(await plaidError(ask())).toMatchObject({ error_code: "PRODUCT_NOT_READY" });
    clock.advance(LATE_DELAY);
    expect(await plaidError(ask())).toMatchObject({ status: 400, error_type: "CHECK_REPORT_ERROR", error_code: "INSUFFICIENT_TRANSACTION_DATA" });
  });

  it("counts the 24 hours from the report's creation, not from when it became ready", async () => {
    const { plaid, user } = await readyUser("expiry-1");
    // Created 10 s before it was ready: 24 h and 2 s after creation it is gone.
    clock.advance(24 * 3600_000 - REPORT_DELAY - 1000);
    expect((await plaid.craCheckReportBaseReportGet({ user_token: user.user_token })).data.report.report_id).toEqual(expect.any(String));
    clock.advance(3000);
    expect(await plaidError(plaid.craCheckReportBaseReportGet({ user_token: user.user_token }))).toMatchObject({ error_code: "CONSUMER_REPORT_EXPIRED" });
  });
});

describe("Link", () => {
  const linkToken = async (extra: Record<string, unknown> = {}) =>
    (await api(GUIDE_CLIENT).linkTokenCreate({ user: { client_user_id: "link-user" }, client_name: "Rewards Demo", products: [Products.Transactions], country_codes: [CountryCode.Us], language: "en", webhook: receiver.url, ...extra })).data.link_token;

  it("hands onSuccess metadata with the accounts the user selected, and the Item holds only those", async () => {
    const session = await linkSession({ link_token: await linkToken(), username: "user_good", password: "pass_good", account_masks: ["0000", "1111"] });
    expect(session.metadata).toMatchObject({ institution: { institution_id: "ins_109508", name: "First Platypus Bank" }, link_session_id: session.link_session_id });
    expect(session.metadata!.accounts.map((a) => [a.mask, a.name, a.type, a.subtype])).toEqual([["0000", "Plaid Checking", "depository", "checking"], ["1111", "Plaid Saving", "depository", "savings"]]);
    const plaid = api(GUIDE_CLIENT);
    const { data: exchanged } = await plaid.itemPublicTokenExchange({ public_token: session.public_token! });
    const { data: accounts } = await plaid.accountsGet({ access_token: exchanged.access_token });
    expect(accounts.accounts.map((a) => a.account_id)).toEqual(session.metadata!.accounts.map((a) => a.id));
    // The processor token the Cardlytics guide makes next uses an id from that metadata.
    const { data: processor } = await plaid.processorTokenCreate({ access_token: exchanged.access_token, account_id: session.metadata!.accounts[0]!.id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
    expect(processor.processor_token).toMatch(/^processor-sandbox-/);
  });

  it("leaves no Item when the user closes Link at account select", async () => {
    const token = await linkToken();
    const session = await linkSession({ link_token: token, username: "user_good", password: "pass_good", exit_after: "SELECT_ACCOUNT" });
    expect(session).toMatchObject({ status: "exited", public_token: null, metadata: null });
    const { data } = await api(GUIDE_CLIENT).linkTokenGet({ link_token: token });
    expect(data.link_sessions![0]).toMatchObject({ link_session_id: session.link_session_id, results: { item_add_results: [] } });
  });

  it("links several banks in one session with enable_multi_item_link, and refuses a second bank without it", async () => {
    const plaid = api(GUIDE_CLIENT);
    const { data: user } = await plaid.userCreate({ client_user_id: "multi-1" });
    expect(await plaidError(plaid.linkTokenCreate({ user: { client_user_id: "multi-1" }, client_name: "Rewards Demo", products: [Products.Transactions], country_codes: [CountryCode.Us], language: "en", enable_multi_item_link: true }))).toMatchObject({ error_code: "INVALID_FIELD" });
    const token = await linkToken({ user_token: user.user_token, enable_multi_item_link: true });
    const session = await linkSession({ link_token: token, username: "user_good", password: "pass_good", more_items: [{ institution_id: "ins_109511", username: "user_good", password: "pass_good", account_masks: ["0000"] }] });
    await sim.webhooks.idle();
    expect(session.public_tokens).toHaveLength(2);
    const hooks = receiver.received.filter((r) => r.json.link_session_id === session.link_session_id).map((r) => r.json);
    expect(hooks.map((h) => h.webhook_code)).toEqual(["EVENTS", "ITEM_ADD_RESULT", "ITEM_ADD_RESULT", "SESSION_FINISHED"]);
    expect(hooks[3]!.public_tokens).toEqual(session.public_tokens);
    const { data: items } = await plaid.userItemsGet({ user_token: user.user_token });
    expect(items.items.map((i) => i.institution_id)).toEqual(["ins_109508", "ins_109511"]);
    const { data: stored } = await plaid.linkTokenGet({ link_token: token });
    expect(stored.link_sessions![0]!.results!.item_add_results.map((r) => r.institution?.institution_id)).toEqual(["ins_109508", "ins_109511"]);
    const single = await fetch(`${sim.url}/__sim/plaid/link/session`, { method: "POST", body: JSON.stringify({ link_token: await linkToken(), institution_id: "ins_109508", more_items: [{ institution_id: "ins_109511" }] }) });
    expect(single.status).toBe(400);
    for (const bad of [{ more_items: { institution_id: "ins_109511" } }, { account_masks: "0000" }]) {
      const res = await fetch(`${sim.url}/__sim/plaid/link/session`, { method: "POST", body: JSON.stringify({ link_token: token, institution_id: "ins_109508", ...bad }) });
      expect([res.status, ((await res.json()) as { error_code: string }).error_code]).toEqual([400, "INVALID_FIELD"]);
    }
  });
});

describe("client configuration and versions", () => {
  it("refuses a Cardlytics processor token with INVALID_PRODUCT while the client's Cardlytics integration is off", async () => {
    const plaid = api(NEW_CLIENT);
    const { data: minted } = await plaid.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions] });
    const { data: exchanged } = await plaid.itemPublicTokenExchange({ public_token: minted.public_token });
    const { data: accounts } = await plaid.accountsGet({ access_token: exchanged.access_token });
    const create = () => plaid.processorTokenCreate({ access_token: exchanged.access_token, account_id: accounts.accounts[0]!.account_id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
    expect(await plaidError(create())).toMatchObject({ status: 400, error_type: "INVALID_INPUT", error_code: "INVALID_PRODUCT", error_message: expect.stringContaining("Integrations") });
    // Other processors are not affected.
    expect((await plaid.processorTokenCreate({ access_token: exchanged.access_token, account_id: accounts.accounts[0]!.account_id, processor: ProcessorTokenCreateRequestProcessorEnum.Dwolla })).data.processor_token).toMatch(/^processor-/);
    await fetch(`${sim.url}/__sim/plaid/clients`, { method: "POST", body: JSON.stringify({ client_id: NEW_CLIENT.clientId, settings: { cardlyticsIntegration: true } }) });
    expect((await create()).data.processor_token).toMatch(/^processor-sandbox-/);
  });

  it("answers the one API version and refuses any other Plaid-Version", async () => {
    expect(await plaidError(api(GUIDE_CLIENT, { "Plaid-Version": "1999-01-01" }).userCreate({ client_user_id: "version-1" }))).toMatchObject({ status: 400, error_type: "INVALID_REQUEST", error_code: "INVALID_HEADERS", error_message: expect.stringContaining("2020-09-14") });
    expect((await api(GUIDE_CLIENT, { "Plaid-Version": "2020-09-14" }).userCreate({ client_user_id: "version-1" })).data.user_id).toEqual(expect.any(String));
    // Without the header, the team's default version answers.
    const res = await fetch(`${sim.url}/user/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...{ client_id: GUIDE_CLIENT.clientId, secret: GUIDE_CLIENT.secret }, client_user_id: "version-2" }) });
    expect(res.status).toBe(200);
  });
});
