import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Configuration, PlaidApi, Products, ProcessorTokenCreateRequestProcessorEnum } from "plaid";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCardlyticsSimulator, type CardlyticsSimulator } from "../../simulators/cardlytics";
import { DEFAULT_CARDLYTICS_SETTINGS } from "../../simulators/cardlytics/state";
import { ManualClock } from "../../simulators/shared/clock";
import { FaultSet } from "../../simulators/shared/faults";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";

const KEY = "cardlytics-test-hmac-key-0123456789abcdef";
const CREDS = { clientId: "cdlx-client", secret: "cdlx-secret-value" };
const PLAID = { clientId: "plaid-client", secret: "plaid-secret" };
const DAY = 86_400_000;
const MINUTE = 60_000;

let clock: ManualClock;
let faults: FaultSet;
let plaidFaults: FaultSet;
let sim: CardlyticsSimulator;
let plaidSim: PlaidSimulator;
let seededAt: number;

beforeAll(async () => {
  clock = new ManualClock();
  faults = new FaultSet();
  plaidFaults = new FaultSet();
  plaidSim = await startPlaidSimulator({ ...PLAID, port: 0, clock, faults: plaidFaults });
  seededAt = clock.now();
  sim = await startCardlyticsSimulator({ ...CREDS, port: 0, clock, faults, customerIdHmacKey: KEY, plaid: { baseUrl: plaidSim.url, ...PLAID } });
});

afterAll(async () => {
  await sim.close();
  await plaidSim.close();
});

afterEach(() => {
  faults.clear();
  plaidFaults.clear();
  Object.assign(sim.settings, DEFAULT_CARDLYTICS_SETTINGS);
});

/** Switches one of the simulator's answers where Cardlytics' documents are silent, over its control surface. */
async function setting(values: Record<string, unknown>) {
  const res = await call("POST", "/__sim/cardlytics/settings", { body: JSON.stringify(values) });
  expect(res.status).toBe(200);
}

const hashOf = (rawId: string) => sim.seeded.find((s) => s.rawId === rawId)!.hash;
const newCustomer = () => randomBytes(32).toString("hex");

type CallOptions = { base?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number };

async function call(method: "GET" | "POST" | "DELETE", path: string, options: CallOptions = {}) {
  const res = await request(`${options.base ?? sim.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...options.headers },
    body: options.body,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

function startSession(customerId: string, creds: object = CREDS, base?: string) {
  return call("POST", "/v2/session/startSession", { base, headers: { "x-source-customer-id": customerId }, body: JSON.stringify(creds) });
}

async function tokenFor(customerId: string, base?: string): Promise<string> {
  const res = await startSession(customerId, CREDS, base);
  expect(res.status).toBe(200);
  return res.json!.sessionToken as string;
}

const authHeaders = (token: string, customerId: string) => ({ authorization: `Bearer ${token}`, "x-source-customer-id": customerId });

async function accountLink(customerId: string, extra: Record<string, string> = {}) {
  const token = await tokenFor(customerId);
  return call("GET", "/v2/data/accountLink", { headers: { ...authHeaders(token, customerId), ...extra } });
}

type WireAccount = { accountId: string; status: string; last4: string; cardType: string; name: string; linkedDate: string; expirationDate: string; fiName: string };
const accountsOf = (res: { json: Record<string, unknown> | null }) => (res.json?.accounts ?? []) as WireAccount[];

async function addCustomer(customerId: string, accounts: object[]) {
  const res = await call("POST", "/__sim/cardlytics/customers", { body: JSON.stringify({ customerId, accounts }) });
  expect(res.status).toBe(200);
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("startSession", () => {
  it("issues a distinct opaque token per call, for a 64-hex customer id or no-user-available", async () => {
    const first = await startSession(hashOf("demo-open"));
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ sessionToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), requestId: expect.any(String) });
    expect((await startSession(hashOf("demo-open"))).json!.sessionToken).not.toBe(first.json!.sessionToken);
    expect((await startSession("no-user-available")).status).toBe(200);
  });

  it("answers 400 ValidationException naming the header when x-source-customer-id is missing", async () => {
    const res = await call("POST", "/v2/session/startSession", { body: JSON.stringify(CREDS) });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      type: "ValidationException",
      title: "Bad Request",
      status: 400,
      validationErrors: [{ field: "x-source-customer-id", message: expect.any(String) }],
      requestId: expect.any(String),
    });
  });

  it.each([
    ["a raw internal id", "cust-42"],
    ["uppercase hex", "A".repeat(64)],
    ["63 hex characters", "a".repeat(63)],
  ])("takes %s as x-source-customer-id, as the documents' \"string\" allows, and answers a silent 204; refuses it with 400 under hmac-hex", async (_case, id) => {
    const res = await startSession(id);
    expect(res.status).toBe(200);
    const token = (res.json as { sessionToken: string }).sessionToken;
    const link = await call("GET", "/v2/data/accountLink", { headers: authHeaders(token, id) });
    expect({ status: link.status, text: link.text }).toEqual({ status: 204, text: "" });
    await setting({ customerIdFormat: "hmac-hex" });
    const refused = await startSession(id);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ type: "ValidationException", validationErrors: [{ field: "x-source-customer-id" }] });
  });

  it("refuses unknown settings and values over the control surface", async () => {
    for (const body of [{ colour: "red" }, { otherCustomerToken: 404 }, { missingFiLogo: "none" }, [] as unknown]) {
      expect((await call("POST", "/__sim/cardlytics/settings", { body: JSON.stringify(body) })).status).toBe(400);
    }
    expect((await call("GET", "/__sim/cardlytics/settings")).json).toMatchObject({ settings: { otherCustomerToken: 401, customerIdFormat: "any", missingFiLogo: null, accountIds: "cardlytics" } });
  });

  it.each([
    ["malformed JSON", "{oops"],
    ["an empty body", ""],
    ["a JSON array", "[]"],
  ])("answers 400 HttpMessageNotReadable for %s", async (_case, body) => {
    const res = await call("POST", "/v2/session/startSession", { headers: { "x-source-customer-id": newCustomer() }, body });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ type: "HttpMessageNotReadable", status: 400, requestId: expect.any(String) });
  });

  it.each([
    ["secret", { clientId: CREDS.clientId }],
    ["clientId", { clientId: 42, secret: CREDS.secret }],
    ["secret", { clientId: CREDS.clientId, secret: null }],
  ])("answers 400 ValidationException naming %s when it is missing or not a string", async (field, creds) => {
    const res = await startSession(newCustomer(), creds);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ type: "ValidationException", validationErrors: [{ field }] });
  });

  it("answers wrong credentials with a generic 500, as Cardlytics documents", async () => {
    for (const creds of [{ ...CREDS, secret: "nope" }, { ...CREDS, clientId: "someone-else" }]) {
      const res = await startSession(newCustomer(), creds);
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ type: "InternalServerError", title: "Internal Server Error", status: 500, requestId: expect.any(String) });
    }
  });

  it("answers wrong credentials with 401 when switched to a fixed vendor", async () => {
    const strict = await startCardlyticsSimulator({ ...CREDS, port: 0, clock, customerIdHmacKey: KEY, plaid: { baseUrl: plaidSim.url, ...PLAID }, badCredentialsStatus: 401, seed: false });
    try {
      const res = await startSession(newCustomer(), { ...CREDS, secret: "nope" }, strict.url);
      expect(res.json).toMatchObject({ status: 401, requestId: expect.any(String) });
      expect(res.status).toBe(401);
      expect((await startSession(newCustomer(), CREDS, strict.url)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });
});

describe("accountLink", () => {
  it("returns the documented shape, with expirationDate as a string of epoch milliseconds", async () => {
    const res = await accountLink(hashOf("demo-expiring"));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      accountLinks: [],
      accounts: [
        {
          accountId: expect.any(String),
          status: "OPEN",
          last4: "4821",
          cardType: "checking",
          name: expect.any(String),
          linkedDate: expect.any(String),
          expirationDate: String(seededAt + 3 * DAY),
          fiName: "Tartan Bank",
          fiLogo: null,
        },
      ],
      requestId: expect.any(String),
    });
    const [account] = accountsOf(res);
    expect(new Date(account!.linkedDate).toISOString()).toBe(account!.linkedDate);
    await setting({ missingFiLogo: "" });
    expect(accountsOf(await accountLink(hashOf("demo-expiring")))[0]).toMatchObject({ fiLogo: "" });
  });

  it("serves every seeded situation: OPEN, CLOSED, DISPUTE, FRAUD, expired, and two cards", async () => {
    const statuses = new Set<string>();
    for (const c of sim.seeded.filter((s) => s.rawId !== "demo-none")) {
      const accounts = accountsOf(await accountLink(c.hash));
      for (const a of accounts) {
        expect(a.expirationDate).toMatch(/^\d+$/);
        statuses.add(a.status);
      }
    }
    expect(statuses).toEqual(new Set(["OPEN", "CLOSED", "DISPUTE", "FRAUD"]));
    const expired = accountsOf(await accountLink(hashOf("demo-expired")));
    expect(expired).toMatchObject([{ status: "OPEN" }]);
    expect(Number(expired[0]!.expirationDate)).toBeLessThan(seededAt - 55 * DAY);
    expect(Number(accountsOf(await accountLink(hashOf("demo-open")))[0]!.expirationDate)).toBe(seededAt + 200 * DAY);
    expect(accountsOf(await accountLink(hashOf("demo-two-cards"))).map((a) => a.status).sort()).toEqual(["CLOSED", "OPEN"]);
  });

  it("answers 204 with an empty body for a customer with no account and for no-user-available", async () => {
    for (const id of [hashOf("demo-none"), newCustomer(), "no-user-available"]) {
      const res = await accountLink(id);
      expect(res.status).toBe(204);
      expect(res.text).toBe("");
    }
  });

  it("answers 401 SessionValidationException for a missing, garbage or malformed token", async () => {
    const customer = hashOf("demo-open");
    const get = (authorization?: string) =>
      call("GET", "/v2/data/accountLink", { headers: { ...(authorization ? { authorization } : {}), "x-source-customer-id": customer } });
    const missing = await get();
    expect(missing.status).toBe(401);
    expect(missing.json).toEqual({ type: "SessionValidationException", title: "Unauthorized", status: 401, validationErrors: [], requestId: expect.any(String) });
    for (const auth of ["Bearer garbage", "Bearer ", `Basic ${await tokenFor(customer)}`]) expect((await get(auth)).status).toBe(401);
    expect((await get(`bearer ${await tokenFor(customer)}`)).status).toBe(200);
  });

  it("honours a token for 15 minutes of simulated time, then answers 401 with no expiry marker", async () => {
    const customer = hashOf("demo-open");
    const token = await tokenFor(customer);
    const get = () => call("GET", "/v2/data/accountLink", { headers: authHeaders(token, customer) });
    clock.advance(14 * MINUTE);
    expect((await get()).status).toBe(200);
    clock.advance(MINUTE + 1);
    const expired = await get();
    expect(expired.status).toBe(401);
    expect(expired.json).toEqual({ type: "SessionValidationException", title: "Unauthorized", status: 401, validationErrors: [], requestId: expect.any(String) });
    const fresh = await tokenFor(customer);
    clock.advance(15 * MINUTE + 1);
    expect((await call("GET", "/v2/data/accountLink", { headers: authHeaders(fresh, customer) })).status).toBe(401);
  });

  it("answers a token issued to another customer id with the documented 401, or 403 CustomerMismatch as a setting", async () => {
    const token = await tokenFor(hashOf("demo-open"));
    const other = await call("GET", "/v2/data/accountLink", { headers: authHeaders(token, hashOf("demo-closed")) });
    expect(other.json).toMatchObject({ type: "SessionValidationException", status: 401 });
    await setting({ otherCustomerToken: 403 });
    const res = await call("GET", "/v2/data/accountLink", { headers: authHeaders(token, hashOf("demo-closed")) });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ type: "CustomerMismatch", title: "Forbidden", status: 403, requestId: expect.any(String) });
  });

  it("returns canned data with x-mock-data: true (any case), whatever the store holds", async () => {
    for (const [id, flag] of [[hashOf("demo-none"), "true"], [hashOf("demo-closed"), "TRUE"], ["no-user-available", "True"]] as const) {
      const res = await accountLink(id, { "x-mock-data": flag });
      expect(res.status).toBe(200);
      expect(accountsOf(res)).toMatchObject([{ fiName: "Mock Bank", status: "OPEN", cardType: "checking" }]);
    }
    expect((await accountLink(hashOf("demo-none"), { "x-mock-data": "false" })).status).toBe(204);
    expect(accountsOf(await accountLink(hashOf("demo-closed"), { "x-mock-data": "false" }))).toMatchObject([{ status: "CLOSED" }]);
  });

  it("echoes X-CDLX-Request-Id in the body and as a header, on success and on errors, and makes one up otherwise", async () => {
    const ok = await accountLink(hashOf("demo-open"), { "x-cdlx-request-id": "req-from-client-1" });
    expect(ok.json!.requestId).toBe("req-from-client-1");
    expect(ok.headers["x-cdlx-request-id"]).toBe("req-from-client-1");
    const empty = await accountLink(hashOf("demo-none"), { "X-CDLX-Request-Id": "req-from-client-2" });
    expect(empty.headers["x-cdlx-request-id"]).toBe("req-from-client-2");
    const refused = await call("GET", "/v2/data/accountLink", { headers: { "x-cdlx-request-id": "req-from-client-3" } });
    expect(refused.json).toMatchObject({ status: 400, requestId: "req-from-client-3" });
    const made = await startSession(newCustomer());
    expect(made.json!.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(made.headers["x-cdlx-request-id"]).toBe(made.json!.requestId);
  });

  it("answers unknown paths with 404 NotFound and wrong methods on known paths with 405", async () => {
    const missing = await call("GET", "/v2/nope");
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ type: "NotFound", title: "Not Found", status: 404, requestId: expect.any(String) });
    for (const [method, path] of [["POST", "/v2/data/accountLink"], ["GET", "/v2/session/startSession"], ["GET", "/v2/data/connections"], ["POST", "/v2/data/accountLink/abc"]] as const) {
      const res = await call(method, path);
      expect(res.status).toBe(405);
      expect(res.json).toMatchObject({ status: 405, requestId: expect.any(String) });
    }
  });
});

describe("unlink", () => {
  it("deletes one of the customer's accounts (204) and answers 404 for one it does not have", async () => {
    const customer = newCustomer();
    await addCustomer(customer, [{ accountId: "acct-keep" }, { accountId: "acct-drop", status: "CLOSED" }]);
    const headers = authHeaders(await tokenFor(customer), customer);
    const dropped = await call("DELETE", "/v2/data/accountLink/acct-drop", { headers });
    expect(dropped.status).toBe(204);
    expect(dropped.text).toBe("");
    expect(accountsOf(await call("GET", "/v2/data/accountLink", { headers })).map((a) => a.accountId)).toEqual(["acct-keep"]);
    for (const id of ["acct-drop", "not-there", "%E0%A4%A"]) {
      const res = await call("DELETE", `/v2/data/accountLink/${id}`, { headers });
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ type: "NotFound", status: 404 });
    }
    const otherCustomer = newCustomer();
    const foreign = await call("DELETE", "/v2/data/accountLink/acct-keep", { headers: authHeaders(await tokenFor(otherCustomer), otherCustomer) });
    expect(foreign.status).toBe(404);
    expect((await call("DELETE", "/v2/data/accountLink/acct-keep", { headers: { "x-source-customer-id": customer } })).status).toBe(401);
    expect((await call("DELETE", "/v2/data/accountLink/acct-keep", { headers })).status).toBe(204);
    expect((await call("GET", "/v2/data/accountLink", { headers })).status).toBe(204);
  });
});

describe("control endpoints", () => {
  it("dumps the customer store with the seeded ids", async () => {
    const res = await call("GET", "/__sim/cardlytics/customers");
    expect(res.status).toBe(200);
    const dump = res.json as { customers: Record<string, unknown[]>; seeded: { rawId: string; hash: string }[] };
    expect(dump.customers[hashOf("demo-two-cards")]).toBeDefined();
    expect(dump.customers[hashOf("demo-none")]).toBeUndefined();
    expect(dump.seeded.map((s) => s.rawId)).toEqual(["demo-open", "demo-expiring", "demo-expired", "demo-closed", "demo-dispute", "demo-fraud", "demo-two-cards", "demo-none"]);
  });

  it("adds or replaces a customer's accounts, filling in what is left out", async () => {
    const customer = newCustomer();
    const expiry = clock.now() + 9 * DAY;
    await addCustomer(customer, [{ status: "DISPUTE", last4: "5555", expirationDate: expiry, linkedDate: "2026-01-02T03:04:05Z" }]);
    expect(accountsOf(await accountLink(customer))).toMatchObject([
      { status: "DISPUTE", last4: "5555", expirationDate: String(expiry), linkedDate: "2026-01-02T03:04:05.000Z", cardType: "checking", fiName: expect.any(String) },
    ]);
    await addCustomer(customer, []);
    expect((await accountLink(customer)).status).toBe(204);
  });

  it.each([
    ["malformed JSON", "{nope"],
    ["a raw customer id", JSON.stringify({ customerId: "cust-42", accounts: [] })],
    ["accounts that are not a list", JSON.stringify({ customerId: "a".repeat(64), accounts: {} })],
    ["an account that is not an object", JSON.stringify({ customerId: "a".repeat(64), accounts: [7] })],
    ["an unknown field", JSON.stringify({ customerId: "a".repeat(64), accounts: [{ colour: "red" }] })],
    ["a numeric status", JSON.stringify({ customerId: "a".repeat(64), accounts: [{ status: 1 }] })],
    ["a string expirationDate", JSON.stringify({ customerId: "a".repeat(64), accounts: [{ expirationDate: "1700000000000" }] })],
    ["an unparseable linkedDate", JSON.stringify({ customerId: "a".repeat(64), accounts: [{ linkedDate: "yesterday" }] })],
    ["duplicate account ids", JSON.stringify({ customerId: "a".repeat(64), accounts: [{ accountId: "x" }, { accountId: "x" }] })],
  ])("refuses %s with a 400", async (_case, body) => {
    const res = await call("POST", "/__sim/cardlytics/customers", { body });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: expect.any(String) });
  });
});

describe("faults", () => {
  const customer = () => hashOf("demo-open");

  it("adds latency (set on the FaultSet)", async () => {
    const token = await tokenFor(customer());
    faults.set("/v2/data/accountLink", { latencyMs: 200 });
    const started = performance.now();
    expect((await call("GET", "/v2/data/accountLink", { headers: authHeaders(token, customer()) })).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("answers 503 ServiceUnavailable at errorRate 1 (set on the FaultSet)", async () => {
    faults.set("/v2/data/accountLink", { errorRate: 1 });
    const res = await accountLink(customer(), { "x-cdlx-request-id": "req-fault-1" });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ type: "ServiceUnavailable", title: "Service Unavailable", status: 503, requestId: "req-fault-1" });
  });

  it("answers 429 TooManyRequests without Retry-After at rateLimitRate 1 (set over HTTP)", async () => {
    expect((await call("POST", "/__sim/faults", { body: JSON.stringify({ "/v2/data/accountLink": { rateLimitRate: 1 } }) })).status).toBe(200);
    const res = await accountLink(customer());
    expect(res.status).toBe(429);
    expect(res.json).toMatchObject({ type: "TooManyRequests", status: 429, requestId: expect.any(String) });
    expect(res.headers["retry-after"]).toBeUndefined();
  });

  it("never answers at dropRate 1 (set over HTTP), so the client times out", async () => {
    await call("POST", "/__sim/faults", { body: JSON.stringify({ "*": { dropRate: 1 } }) });
    await expect(
      request(`${sim.url}/v2/session/startSession`, { method: "POST", headers: { "x-source-customer-id": customer() }, body: JSON.stringify(CREDS), headersTimeout: 300, bodyTimeout: 300 }),
    ).rejects.toThrow();
  });

  it("treats every token as expired with expireTokens, in code or over HTTP", async () => {
    const token = await tokenFor(customer());
    const get = () => call("GET", "/v2/data/accountLink", { headers: authHeaders(token, customer()) });
    faults.set("/v2/data/accountLink", { expireTokens: true });
    expect((await get()).json).toMatchObject({ status: 401, type: "SessionValidationException", validationErrors: [] });
    faults.clear();
    expect((await get()).status).toBe(200);
    await call("POST", "/__sim/faults", { body: JSON.stringify({ "*": { expireTokens: true } }) });
    expect((await get()).status).toBe(401);
  });

  it("lists faults over HTTP, refuses malformed ones, and clears them with DELETE", async () => {
    faults.set("/v2/data/accountLink", { errorRate: 1 });
    await call("POST", "/__sim/faults", { body: JSON.stringify({ "/v2/session/startSession": { rateLimitRate: 1 } }) });
    expect((await call("GET", "/__sim/faults")).json).toEqual({ "/v2/data/accountLink": { errorRate: 1 }, "/v2/session/startSession": { rateLimitRate: 1 } });
    expect((await call("POST", "/__sim/faults", { body: JSON.stringify({ "*": { errorRate: 3 } }) })).status).toBe(400);
    expect((await startSession(customer())).status).toBe(429);
    expect((await call("DELETE", "/__sim/faults")).json).toEqual({});
    expect((await accountLink(customer())).status).toBe(200);
  });

  it("reads faults from the environment and refuses malformed ones", () => {
    expect(FaultSet.fromEnv('{"*":{"latencyMs":100}}').effective("/x")).toEqual({ latencyMs: 100 });
    expect(() => FaultSet.fromEnv('{"*":{"errorRate":3}}')).toThrow("errorRate is a share from 0 to 1");
    expect(() => FaultSet.fromEnv('{"*":{"colour":1}}')).toThrow('Unknown fault setting "colour"');
  });
});

describe("connections, checked against the Plaid simulator", () => {
  const plaid = () =>
    new PlaidApi(new Configuration({ basePath: plaidSim.url, baseOptions: { headers: { "PLAID-CLIENT-ID": PLAID.clientId, "PLAID-SECRET": PLAID.secret } } }));

  async function processorToken() {
    const api = plaid();
    const { data: minted } = await api.sandboxPublicTokenCreate({ institution_id: "ins_109508", initial_products: [Products.Transactions] });
    const { data: item } = await api.itemPublicTokenExchange({ public_token: minted.public_token });
    const { data: accounts } = await api.accountsGet({ access_token: item.access_token });
    const account = accounts.accounts[0]!;
    const { data } = await api.processorTokenCreate({ access_token: item.access_token, account_id: account.account_id, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics });
    return { token: data.processor_token, accessToken: item.access_token, account };
  }

  async function connect(customer: string, body: object, base?: string) {
    const session = await tokenFor(customer, base);
    return call("POST", "/v2/data/connections", { base, headers: authHeaders(session, customer), body: JSON.stringify(body) });
  }

  it("links the account behind a processor token as OPEN, visible in accountLink with Plaid's mask", async () => {
    const customer = newCustomer();
    const { token, account } = await processorToken();
    const res = await connect(customer, { processorToken: token });
    expect(res.status).toBe(200);
    const expected = {
      accountId: expect.stringMatching(/^[0-9a-f]{24}$/),
      status: "OPEN",
      last4: account.mask,
      cardType: account.subtype,
      name: account.name,
      linkedDate: new Date(clock.now()).toISOString(),
      expirationDate: String(clock.now() + 365 * DAY),
      fiName: "First Platypus Bank",
      fiLogo: null,
    };
    expect(res.json).toEqual({ accountLinks: [], accounts: [expected], requestId: expect.any(String) });
    // Cardlytics' own account id, not Plaid's (the documents' ids are Cardlytics'), and the same one on every read.
    expect(accountsOf(res)[0]!.accountId).not.toBe(account.account_id);
    expect(accountsOf(await accountLink(customer))).toEqual(accountsOf(res));
    await setting({ accountIds: "plaid" });
    const reused = await processorToken();
    expect(accountsOf(await connect(newCustomer(), { processorToken: reused.token }))[0]!.accountId).toBe(reused.account.account_id);
  });

  it("is idempotent: the same token posted again for the same customer adds nothing", async () => {
    const customer = newCustomer();
    const { token } = await processorToken();
    const first = accountsOf(await connect(customer, { processorToken: token }));
    const again = await connect(customer, { processorToken: token });
    expect(again.status).toBe(200);
    expect(accountsOf(again)).toEqual(first);
    expect(accountsOf(await accountLink(customer))).toHaveLength(1);
  });

  it("answers 409 Conflict for a token already bound to another customer", async () => {
    const { token } = await processorToken();
    expect((await connect(newCustomer(), { processorToken: token })).status).toBe(200);
    const res = await connect(newCustomer(), { processorToken: token });
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ type: "Conflict", status: 409, requestId: expect.any(String) });
  });

  it("answers 400 ValidationException on processorToken for a token Plaid does not know, and for a malformed one", async () => {
    const unknown = await connect(newCustomer(), { processorToken: `processor-sandbox-${randomBytes(16).toString("hex")}` });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toMatchObject({ type: "ValidationException", validationErrors: [{ field: "processorToken", message: expect.stringContaining("INVALID_PROCESSOR_TOKEN") }] });
    for (const body of [{}, { processorToken: 42 }, { processorToken: "access-sandbox-abc" }]) {
      expect((await connect(newCustomer(), body)).json).toMatchObject({ status: 400, validationErrors: [{ field: "processorToken" }] });
    }
    const garbled = await call("POST", "/v2/data/connections", { headers: authHeaders(await tokenFor(hashOf("demo-open")), hashOf("demo-open")), body: "{" });
    expect(garbled.json).toMatchObject({ status: 400, type: "HttpMessageNotReadable" });
  });

  it("answers 400 for a token revoked by removing its Item", async () => {
    const { token, accessToken } = await processorToken();
    await plaid().itemRemove({ access_token: accessToken });
    const res = await connect(newCustomer(), { processorToken: token });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ type: "ValidationException", validationErrors: [{ field: "processorToken", message: expect.stringContaining("INVALID_PROCESSOR_TOKEN") }] });
  });

  it("checks the optional accounts list against the account behind the token", async () => {
    const { token, account } = await processorToken();
    const wrong = await connect(newCustomer(), { processorToken: token, accounts: [{ accountId: "someone-elses" }] });
    expect(wrong.json).toMatchObject({ status: 400, validationErrors: [{ field: "accounts" }] });
    expect((await connect(newCustomer(), { processorToken: token, accounts: [{}] })).json).toMatchObject({ status: 400, validationErrors: [{ field: "accounts[0].accountId" }] });
    expect((await connect(newCustomer(), { processorToken: token, accounts: [{ accountId: account.account_id }] })).status).toBe(200);
  });

  it("needs a live session for the same customer, and a real customer id", async () => {
    const noSession = await call("POST", "/v2/data/connections", { headers: { "x-source-customer-id": newCustomer() }, body: JSON.stringify({ processorToken: "processor-sandbox-x" }) });
    expect(noSession.status).toBe(401);
    const anonymous = await connect("no-user-available", { processorToken: (await processorToken()).token });
    expect(anonymous.json).toMatchObject({ status: 400, validationErrors: [{ field: "x-source-customer-id" }] });
  });

  it("answers 502 UpstreamUnavailable when Plaid answers with a 5xx", async () => {
    const { token } = await processorToken();
    plaidFaults.set("/processor/account/get", { errorRate: 1 });
    const res = await connect(newCustomer(), { processorToken: token });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ type: "UpstreamUnavailable", status: 502, requestId: expect.any(String) });
  });

  it("answers 502 UpstreamUnavailable when Plaid cannot be reached", async () => {
    const orphan = await startCardlyticsSimulator({ ...CREDS, port: 0, clock, customerIdHmacKey: KEY, plaid: { baseUrl: await closedPortUrl(), ...PLAID }, seed: false });
    try {
      const res = await connect(newCustomer(), { processorToken: "processor-sandbox-x" }, orphan.url);
      expect(res.status).toBe(502);
      expect(res.json).toMatchObject({ type: "UpstreamUnavailable", status: 502 });
    } finally {
      await orphan.close();
    }
  });
});
