import { Configuration, PlaidApi, Products, ProcessorTokenCreateRequestProcessorEnum } from "plaid";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCardlyticsSimulator, type CardlyticsSimulator } from "../../simulators/cardlytics";
import { ManualClock } from "../../simulators/shared/clock";
import { FaultSet } from "../../simulators/shared/faults";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";

const KEY = "cardlytics-test-hmac-key-0123456789abcdef";
const CREDS = { clientId: "cdlx-client", secret: "cdlx-secret-value" };
const PLAID = { clientId: "plaid-client", secret: "plaid-secret" };

let clock: ManualClock;
let faults: FaultSet;
let sim: CardlyticsSimulator;
let plaidSim: PlaidSimulator;

beforeAll(async () => {
  clock = new ManualClock();
  faults = new FaultSet();
  plaidSim = await startPlaidSimulator({ ...PLAID, clock });
  sim = await startCardlyticsSimulator({ ...CREDS, clock, faults, customerIdHmacKey: KEY, plaid: { baseUrl: plaidSim.url, ...PLAID } });
});

afterAll(async () => {
  await sim.close();
  await plaidSim.close();
});

const hashOf = (rawId: string) => sim.seeded.find((s) => s.rawId === rawId)!.hash;

async function call(method: "GET" | "POST" | "DELETE", path: string, options: { headers?: Record<string, string>; body?: string; timeoutMs?: number } = {}) {
  const res = await request(`${sim.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...options.headers },
    body: options.body,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

async function startSession(customerId: string, creds = CREDS) {
  return call("POST", "/v2/session/startSession", { headers: { "x-source-customer-id": customerId }, body: JSON.stringify(creds) });
}

async function accountLink(customerId: string, extra: Record<string, string> = {}) {
  const token = (await startSession(customerId)).json!.sessionToken as string;
  return call("GET", "/v2/data/accountLink", { headers: { authorization: `Bearer ${token}`, "x-source-customer-id": customerId, ...extra } });
}

describe("startSession", () => {
  it("issues an opaque token for a 64-hex customer id or no-user-available, with a requestId", async () => {
    const res = await startSession(hashOf("demo-open"));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ sessionToken: expect.stringMatching(/^[\w-]{40,}$/), requestId: expect.any(String) });
    expect((await startSession("no-user-available")).status).toBe(200);
  });

  it.each([
    ["no customer id header", {}, JSON.stringify(CREDS), 400, "ValidationException"],
    ["a raw customer id", { "x-source-customer-id": "cust-42" }, JSON.stringify(CREDS), 400, "ValidationException"],
    ["malformed JSON", { "x-source-customer-id": "a".repeat(64) }, "{oops", 400, "HttpMessageNotReadable"],
    ["a missing secret", { "x-source-customer-id": "a".repeat(64) }, JSON.stringify({ clientId: CREDS.clientId }), 400, "ValidationException"],
    ["wrong credentials (a 500, as Cardlytics documents)", { "x-source-customer-id": "a".repeat(64) }, JSON.stringify({ ...CREDS, secret: "nope" }), 500, "InternalServerError"],
  ])("refuses %s", async (_case, headers, body, status, type) => {
    const res = await call("POST", "/v2/session/startSession", { headers, body });
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ type, status, requestId: expect.any(String) });
  });

  it("answers 401 for wrong credentials when switched to a fixed vendor", async () => {
    const strict = await startCardlyticsSimulator({ ...CREDS, clock, customerIdHmacKey: KEY, plaid: { baseUrl: plaidSim.url, ...PLAID }, badCredentialsStatus: 401, seed: false });
    const res = await request(`${strict.url}/v2/session/startSession`, { method: "POST", headers: { "x-source-customer-id": "a".repeat(64) }, body: JSON.stringify({ ...CREDS, secret: "nope" }) });
    expect(res.statusCode).toBe(401);
    await res.body.dump();
    await strict.close();
  });
});

describe("accountLink", () => {
  it("returns the documented shape for the seeded customers, with expirationDate as a string of epoch ms", async () => {
    const res = await accountLink(hashOf("demo-expiring"));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accountLinks: [], accounts: [{ status: "OPEN", last4: "4821", cardType: "checking", fiName: "Tartan Bank", linkedDate: expect.any(String), expirationDate: String(clock.now() + 3 * 86_400_000) }] });
    const statuses = [];
    for (const c of sim.seeded.filter((s) => s.rawId !== "demo-none")) {
      statuses.push(...((await accountLink(c.hash)).json!.accounts as { status: string }[]).map((a) => a.status));
    }
    expect(new Set(statuses)).toEqual(new Set(["OPEN", "CLOSED", "DISPUTE", "FRAUD"]));
  });

  it("answers 204 with an empty body when there is no linked account, and for no-user-available", async () => {
    for (const id of [hashOf("demo-none"), "no-user-available"]) {
      const res = await accountLink(id);
      expect(res.status).toBe(204);
      expect(res.text).toBe("");
    }
  });

  it("answers 401 for a missing, garbage or expired token and 403 for another customer's token", async () => {
    const customer = hashOf("demo-open");
    const token = (await startSession(customer)).json!.sessionToken as string;
    const get = (auth: string | undefined, id = customer) =>
      call("GET", "/v2/data/accountLink", { headers: { ...(auth ? { authorization: auth } : {}), "x-source-customer-id": id } });
    expect((await get(undefined)).json).toMatchObject({ status: 401, type: "SessionValidationException", validationErrors: [] });
    expect((await get("Bearer garbage")).status).toBe(401);
    expect((await get(`Bearer ${token}`, hashOf("demo-closed"))).json).toMatchObject({ status: 403, type: "CustomerMismatch" });
    expect((await get(`Bearer ${token}`)).status).toBe(200);
    clock.advance(15 * 60_000);
    expect((await get(`Bearer ${token}`)).status).toBe(401);
  });

  it("returns canned data with x-mock-data: true, and echoes X-CDLX-Request-Id", async () => {
    const res = await accountLink(hashOf("demo-none"), { "x-mock-data": "TRUE", "x-cdlx-request-id": "req-from-client-1" });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accounts: [{ fiName: "Mock Bank", status: "OPEN" }], requestId: "req-from-client-1" });
    expect(res.headers["x-cdlx-request-id"]).toBe("req-from-client-1");
  });

  it("unlinks an account (204) and answers 404 for one it does not have", async () => {
    const customer = hashOf("demo-two-cards");
    const token = (await startSession(customer)).json!.sessionToken as string;
    const headers = { authorization: `Bearer ${token}`, "x-source-customer-id": customer };
    const before = (await call("GET", "/v2/data/accountLink", { headers })).json!.accounts as { accountId: string }[];
    expect((await call("DELETE", `/v2/data/accountLink/${before[1]!.accountId}`, { headers })).status).toBe(204);
    expect(((await call("GET", "/v2/data/accountLink", { headers })).json!.accounts as unknown[]).length).toBe(1);
    expect((await call("DELETE", "/v2/data/accountLink/not-there", { headers })).status).toBe(404);
  });

  it("answers unknown paths with 404 and wrong methods with 405", async () => {
    expect((await call("GET", "/v2/nope")).json).toMatchObject({ status: 404, type: "NotFound" });
    expect((await call("POST", "/v2/data/accountLink")).status).toBe(405);
  });
});

describe("connections", () => {
  const plaid = () => new PlaidApi(new Configuration({ basePath: plaidSim.url, baseOptions: { headers: { "PLAID-CLIENT-ID": PLAID.clientId, "PLAID-SECRET": PLAID.secret } } }));

  async function processorToken() {
    const api = plaid();
    const { data: minted } = await api.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions] });
    const { data: item } = await api.itemPublicTokenExchange({ public_token: minted.public_token });
    const { data: accounts } = await api.accountsGet({ access_token: item.access_token });
    const { data } = await api.processorTokenCreate({ access_token: item.access_token, account_id: accounts.accounts[0]!.account_id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
    return { token: data.processor_token, accessToken: item.access_token };
  }

  async function connect(customer: string, token: string) {
    const session = (await startSession(customer)).json!.sessionToken as string;
    return call("POST", "/v2/data/connections", { headers: { authorization: `Bearer ${session}`, "x-source-customer-id": customer }, body: JSON.stringify({ processorToken: token }) });
  }

  it("binds a processor token checked with Plaid and creates an OPEN account; posting it again changes nothing", async () => {
    const customer = "c".repeat(64);
    const { token } = await processorToken();
    const res = await connect(customer, token);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accounts: [{ status: "OPEN", last4: "0000", fiName: "First Platypus Bank", expirationDate: String(clock.now() + 365 * 86_400_000) }] });
    expect(((await connect(customer, token)).json!.accounts as unknown[]).length).toBe(1);
    expect((await accountLink(customer)).json).toMatchObject({ accounts: [{ last4: "0000" }] });
  });

  it("refuses a token bound to another customer (409), an unknown one and a revoked one (400)", async () => {
    const { token, accessToken } = await processorToken();
    expect((await connect("d".repeat(64), token)).status).toBe(200);
    expect((await connect("e".repeat(64), token)).json).toMatchObject({ status: 409, type: "Conflict" });
    expect((await connect("e".repeat(64), "processor-sandbox-unknown")).json).toMatchObject({ status: 400, validationErrors: [{ field: "processorToken" }] });
    const second = await processorToken();
    await plaid().itemRemove({ access_token: second.accessToken });
    expect((await connect("f".repeat(64), second.token)).json).toMatchObject({ status: 400, validationErrors: [{ message: expect.stringContaining("INVALID_PROCESSOR_TOKEN") }] });
    expect(accessToken).toBeTruthy();
  });

  it("answers 502 when Plaid cannot be reached", async () => {
    const orphan = await startCardlyticsSimulator({ ...CREDS, clock, customerIdHmacKey: KEY, plaid: { baseUrl: "http://127.0.0.1:9", ...PLAID }, seed: false });
    const customer = "a".repeat(64);
    const session = (await (await request(`${orphan.url}/v2/session/startSession`, { method: "POST", headers: { "x-source-customer-id": customer }, body: JSON.stringify(CREDS) })).body.json()) as { sessionToken: string };
    const res = await request(`${orphan.url}/v2/data/connections`, { method: "POST", headers: { authorization: `Bearer ${session.sessionToken}`, "x-source-customer-id": customer }, body: JSON.stringify({ processorToken: "processor-sandbox-x" }) });
    expect(res.statusCode).toBe(502);
    await res.body.dump();
    await orphan.close();
  });
});

describe("faults", () => {
  it("injects latency, 5xx, 429, silence and forced token expiry, set in code or over HTTP", async () => {
    const customer = hashOf("demo-open");
    faults.set("/v2/data/accountLink", { latencyMs: 200 });
    const started = performance.now();
    expect((await accountLink(customer)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    faults.set("/v2/data/accountLink", { errorRate: 1 });
    expect((await accountLink(customer)).json).toMatchObject({ status: 503, type: "ServiceUnavailable" });
    expect((await call("POST", "/__sim/faults", { body: JSON.stringify({ "/v2/data/accountLink": { rateLimitRate: 1 } }) })).status).toBe(200);
    expect((await accountLink(customer)).status).toBe(429);
    faults.set("/v2/data/accountLink", { expireTokens: true });
    expect((await accountLink(customer)).status).toBe(401);
    faults.set("*", { dropRate: 1 });
    await expect(call("POST", "/v2/session/startSession", { headers: { "x-source-customer-id": customer }, body: JSON.stringify(CREDS), timeoutMs: 300 })).rejects.toThrow();
    expect((await call("DELETE", "/__sim/faults")).json).toEqual({});
    expect((await accountLink(customer)).status).toBe(200);
  });

  it("reads faults from the environment and refuses malformed ones", () => {
    expect(FaultSet.fromEnv('{"*":{"latencyMs":100}}').effective("/x")).toEqual({ latencyMs: 100 });
    expect(() => FaultSet.fromEnv('{"*":{"errorRate":3}}')).toThrow("errorRate is a share from 0 to 1");
    expect(() => FaultSet.fromEnv('{"*":{"colour":1}}')).toThrow('Unknown fault setting "colour"');
  });
});
