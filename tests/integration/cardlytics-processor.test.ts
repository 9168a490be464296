// "Add Cardlytics to your app": the publisher links through Plaid and hands Cardlytics a processor token; Cardlytics
// reads what the token grants (the processor data plane) on a schedule. Driven with the official plaid client and
// a client written from Cardlytics' "Check Account Link Status", against both simulators over real HTTP.
import { Configuration, CountryCode, PlaidApi, Products, ProcessorTokenCreateRequestProcessorEnum, SandboxItemFireWebhookRequestWebhookCodeEnum } from "plaid";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startSimulators, type RunningSimulators } from "../../simulators";
import { hashCustomerId } from "../../simulators/cardlytics/seed";
import { DEFAULT_CARDLYTICS_SETTINGS } from "../../simulators/cardlytics/state";
import { ManualClock } from "../../simulators/shared/clock";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { plaidError } from "../support/plaid-error";

const HMAC_KEY = "processor-test-key-0123456789abcdef0123456789";
const HOUR = 3600_000;
const DAY = 24 * HOUR;

let sims: RunningSimulators;
let clock: ManualClock;
let plaid: PlaidApi;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  clock = new ManualClock();
  sims = await startSimulators({ customerIdHmacKey: HMAC_KEY, clock, env: {} as NodeJS.ProcessEnv });
  receiver = await startWebhookReceiver();
  plaid = new PlaidApi(new Configuration({ basePath: sims.plaid.url, baseOptions: { headers: { "PLAID-CLIENT-ID": sims.credentials.plaid.clientId, "PLAID-SECRET": sims.credentials.plaid.secret } } }));
});
afterAll(async () => {
  await sims.close();
  await receiver.close();
});
afterEach(() => {
  Object.assign(sims.cardlytics.settings, DEFAULT_CARDLYTICS_SETTINGS);
  sims.cardlytics.puller.schedule();
});

let customers = 0;
/** The Cardlytics guide's steps: Link, exchange, a processor token for Cardlytics, and the connection at Cardlytics. */
async function linkedCustomer() {
  const hash = hashCustomerId(`proc-${++customers}`, HMAC_KEY);
  const { data: link } = await plaid.linkTokenCreate({ client_name: "Rewards Demo", language: "en", country_codes: [CountryCode.Us], user: { client_user_id: hash }, products: [Products.Transactions], webhook: receiver.url });
  const session = (await (await fetch(`${sims.plaid.url}/__sim/plaid/link/session`, { method: "POST", body: JSON.stringify({ link_token: link.link_token, institution_id: "ins_109508", account_masks: ["0000"] }) })).json()) as { public_token: string; metadata: { accounts: { id: string }[] } };
  const { data: exchanged } = await plaid.itemPublicTokenExchange({ public_token: session.public_token });
  const { data: processor } = await plaid.processorTokenCreate({ access_token: exchanged.access_token, account_id: session.metadata.accounts[0]!.id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
  const token = await cardlyticsSession(hash);
  const res = await request(`${sims.cardlytics.url}/v2/data/connections`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "x-source-customer-id": hash }, body: JSON.stringify({ processorToken: processor.processor_token }) });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
  return { hash, accessToken: exchanged.access_token, processorToken: processor.processor_token };
}

async function cardlyticsSession(hash: string) {
  const res = await request(`${sims.cardlytics.url}/v2/session/startSession`, { method: "POST", headers: { "content-type": "application/json", "x-source-customer-id": hash }, body: JSON.stringify(sims.credentials.cardlytics) });
  return ((await res.body.json()) as { sessionToken: string }).sessionToken;
}

/** "Check Account Link Status", as a publisher's client reads it. */
async function accountStatus(hash: string) {
  const token = await cardlyticsSession(hash);
  const res = await request(`${sims.cardlytics.url}/v2/data/accountLink`, { headers: { authorization: `Bearer ${token}`, "x-source-customer-id": hash } });
  if (res.statusCode === 204) return (await res.body.dump(), "none");
  return ((await res.body.json()) as { accounts: { status: string }[] }).accounts[0]!.status;
}

async function advance(ms: number) {
  clock.advance(ms);
  await sims.cardlytics.puller.idle();
}

const pullOf = async (hash: string) => {
  const res = await request(`${sims.cardlytics.url}/__sim/cardlytics/customers`);
  const body = (await res.body.json()) as { customers: Record<string, { pull?: { lastSuccessAt: number | null; failingSince: number | null; lastErrorCode: string | null; transactionsSeen: number } }[]> };
  return body.customers[hash]![0]!.pull ?? null;
};

describe("the processor data plane", () => {
  it("serves /processor/transactions/sync with a cursor, /processor/transactions/get and /processor/balance/get through the token", async () => {
    const { processorToken } = await linkedCustomer();
    const { data: first } = await plaid.processorTransactionsSync({ processor_token: processorToken });
    expect(first.added.length).toBeGreaterThan(30);
    expect(first.account?.mask).toBe("0000");
    expect(first.has_more).toBe(false);
    const { data: again } = await plaid.processorTransactionsSync({ processor_token: processorToken, cursor: first.next_cursor });
    expect(again.added).toEqual([]);
    clock.advance(4 * DAY);
    const { data: later } = await plaid.processorTransactionsSync({ processor_token: processorToken, cursor: first.next_cursor });
    expect(later.added.length).toBeGreaterThan(0);
    expect(later.added.every((t) => t.date > first.added.at(-1)!.date)).toBe(true);
    // Paged: a small count gives has_more and a cursor that carries on where the page stopped.
    const { data: page } = await plaid.processorTransactionsSync({ processor_token: processorToken, count: 10 });
    expect(page).toMatchObject({ has_more: true });
    expect(page.added).toHaveLength(10);
    const { data: rest } = await plaid.processorTransactionsSync({ processor_token: processorToken, cursor: page.next_cursor, count: 500 });
    expect(page.added.length + rest.added.length).toBe(first.added.length + later.added.length);
    const end = new Date(clock.now()).toISOString().slice(0, 10);
    const { data: got } = await plaid.processorTransactionsGet({ processor_token: processorToken, start_date: "2000-01-01", end_date: end, options: { count: 5 } });
    expect(got.total_transactions).toBe(first.added.length + later.added.length);
    expect(got.transactions).toHaveLength(5);
    expect(got.transactions[0]!.date >= got.transactions[4]!.date).toBe(true);
    const { data: balance } = await plaid.processorBalanceGet({ processor_token: processorToken });
    expect(balance.account).toMatchObject({ mask: "0000", balances: { current: 110 } });
    expect(await plaidError(plaid.processorTransactionsSync({ processor_token: processorToken, cursor: "not-a-cursor" }))).toMatchObject({ status: 400, error_code: "INVALID_FIELD" });
  });

  it("answers with the Item's error while it has one, and INVALID_PROCESSOR_TOKEN once the Item is removed", async () => {
    const { accessToken, processorToken } = await linkedCustomer();
    await plaid.sandboxItemResetLogin({ access_token: accessToken });
    expect(await plaidError(plaid.processorTransactionsSync({ processor_token: processorToken }))).toMatchObject({ status: 400, error_type: "ITEM_ERROR", error_code: "ITEM_LOGIN_REQUIRED" });
    expect(await plaidError(plaid.processorBalanceGet({ processor_token: processorToken }))).toMatchObject({ error_code: "ITEM_LOGIN_REQUIRED" });
    await plaid.itemRemove({ access_token: accessToken });
    expect(await plaidError(plaid.processorTransactionsGet({ processor_token: processorToken, start_date: "2026-01-01", end_date: "2026-12-31" }))).toMatchObject({ error_code: "INVALID_PROCESSOR_TOKEN" });
  });
});

describe("Cardlytics pulling through the processor token", () => {
  it("pulls on its schedule, and after days of Plaid refusing the token shows the account as not OPEN until a pull works again", async () => {
    const { hash, accessToken } = await linkedCustomer();
    await advance(6 * HOUR);
    expect(await pullOf(hash)).toMatchObject({ failingSince: null, lastErrorCode: null, transactionsSeen: expect.any(Number) });
    expect((await pullOf(hash))!.transactionsSeen).toBeGreaterThan(30);
    await plaid.sandboxItemResetLogin({ access_token: accessToken });
    await advance(1 * DAY);
    // A day of failures changes nothing the publisher can see.
    expect(await pullOf(hash)).toMatchObject({ failingSince: expect.any(Number), lastErrorCode: "ITEM_LOGIN_REQUIRED" });
    expect(await accountStatus(hash)).toBe("OPEN");
    await advance(3 * DAY);
    expect(await accountStatus(hash)).toBe(DEFAULT_CARDLYTICS_SETTINGS.failedPullStatus);
    // The customer repairs the login; the next pull brings the account back.
    await plaid.sandboxItemFireWebhook({ access_token: accessToken, webhook_code: SandboxItemFireWebhookRequestWebhookCodeEnum.LoginRepaired });
    await request(`${sims.cardlytics.url}/__sim/cardlytics/pull`, { method: "POST" }).then((r) => r.body.dump());
    expect(await accountStatus(hash)).toBe("OPEN");
    expect(await pullOf(hash)).toMatchObject({ failingSince: null });
  });

  it("shows a removed Item and a revoked permission the same way, and stays silent when the failure setting is off", async () => {
    const removed = await linkedCustomer();
    const revoked = await linkedCustomer();
    const silent = await linkedCustomer();
    await plaid.itemRemove({ access_token: removed.accessToken });
    await plaid.sandboxItemFireWebhook({ access_token: revoked.accessToken, webhook_code: SandboxItemFireWebhookRequestWebhookCodeEnum.UserPermissionRevoked });
    await advance(4 * DAY);
    expect(await accountStatus(removed.hash)).toBe("ERROR");
    expect(await pullOf(removed.hash)).toMatchObject({ lastErrorCode: "INVALID_PROCESSOR_TOKEN" });
    expect(await accountStatus(revoked.hash)).toBe("ERROR");
    expect(await pullOf(revoked.hash)).toMatchObject({ lastErrorCode: "USER_PERMISSION_REVOKED" });
    const res = await request(`${sims.cardlytics.url}/__sim/cardlytics/settings`, { method: "POST", body: JSON.stringify({ failedPullDays: null, failedPullStatus: "CLOSED" }) });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    await plaid.itemRemove({ access_token: silent.accessToken });
    await advance(10 * DAY);
    expect(await accountStatus(silent.hash)).toBe("OPEN");
    expect(await pullOf(silent.hash)).toMatchObject({ lastErrorCode: "INVALID_PROCESSOR_TOKEN" });
  });

  it("never counts a Plaid outage as a failing feed", async () => {
    const { hash } = await linkedCustomer();
    const fault = await request(`${sims.plaid.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ "/processor/transactions/sync": { errorRate: 1 } }) });
    await fault.body.dump();
    try {
      await advance(5 * DAY);
      expect(await pullOf(hash)).toMatchObject({ failingSince: null, lastErrorCode: "INTERNAL_SERVER_ERROR" });
      expect(await accountStatus(hash)).toBe("OPEN");
    } finally {
      await (await request(`${sims.plaid.url}/__sim/faults`, { method: "DELETE" })).body.dump();
    }
  });
});
