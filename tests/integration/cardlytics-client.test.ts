import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CardlyticsClient } from "../../app/cardlytics/client.server";
import { SIM_CARDLYTICS, startTestSimulators } from "../support/simulators";

let sims: Awaited<ReturnType<typeof startTestSimulators>>;
beforeAll(async () => {
  sims = await startTestSimulators("client-test-hmac-key-000000000000000000");
});
afterAll(() => sims.close());
afterEach(() => sims.cardlyticsFaults.clear());

const client = (overrides: Partial<ConstructorParameters<typeof CardlyticsClient>[0]> = {}) =>
  new CardlyticsClient({ baseUrl: sims.cardlytics.url, ...SIM_CARDLYTICS, now: () => sims.clock.now(), retries: 1, backoffMs: 10, timeoutMs: 1000, ...overrides });

describe("Cardlytics client against the simulator", () => {
  it("200: reads the accounts, with expirationDate turned from a string into epoch ms", async () => {
    const result = await client().accountLink(sims.hashOf("demo-expiring"));
    expect(result).toMatchObject({ outcome: "linked", httpStatus: 200, attempts: 1, accounts: [{ status: "OPEN", last4: "4821", fiName: "Tartan Bank", expirationDate: sims.clock.now() + 3 * 86_400_000 }] });
  });

  it("204: no linked account", async () => {
    expect(await client().accountLink(sims.hashOf("demo-none"))).toMatchObject({ outcome: "none", httpStatus: 204 });
  });

  it("caches the session per customer until shortly before 15 minutes, then starts a new one", async () => {
    const c = client();
    const customer = sims.hashOf("demo-open");
    const before = sims.cardlytics.state.sessions.size;
    await c.accountLink(customer);
    await c.accountLink(customer);
    expect(sims.cardlytics.state.sessions.size).toBe(before + 1);
    sims.clock.advance(14 * 60_000);
    await c.accountLink(customer);
    expect(sims.cardlytics.state.sessions.size).toBe(before + 2);
  });

  it("401: starts one new session and retries once", async () => {
    const c = client();
    const customer = sims.hashOf("demo-open");
    await c.accountLink(customer);
    sims.cardlytics.state.sessions.clear(); // the token dies on Cardlytics' side before our cache says so
    const result = await c.accountLink(customer);
    expect(result).toMatchObject({ outcome: "linked", attempts: 2 });
    expect(sims.cardlytics.state.sessions.size).toBe(1);
  });

  it("401 again after the new session: reported as unauthorized, not looped", async () => {
    sims.cardlyticsFaults.set("/v2/data/accountLink", { expireTokens: true });
    expect(await client().accountLink(sims.hashOf("demo-open"))).toMatchObject({ outcome: "failed", reason: "unauthorized", httpStatus: 401, attempts: 2 });
  });

  it("500 from startSession: credentials rejected, not retried", async () => {
    const result = await client({ secret: "wrong-secret" }).accountLink(sims.hashOf("demo-open"));
    expect(result).toMatchObject({ outcome: "failed", reason: "credentials-rejected", httpStatus: 500, attempts: 1, requestId: expect.any(String) });
  });

  it("a session bound to another customer: the documented 401 makes the client start a new session; the 403 variant is reported as forbidden", async () => {
    const c = client();
    const customer = sims.hashOf("demo-closed");
    await c.accountLink(customer);
    for (const session of sims.cardlytics.state.sessions.values()) session.customerId = "f".repeat(64);
    expect(await c.accountLink(customer)).toMatchObject({ outcome: "linked" });
    sims.cardlytics.settings.otherCustomerToken = 403;
    try {
      for (const session of sims.cardlytics.state.sessions.values()) session.customerId = "f".repeat(64);
      expect(await c.accountLink(customer)).toMatchObject({ outcome: "failed", reason: "forbidden", httpStatus: 403 });
    } finally {
      sims.cardlytics.settings.otherCustomerToken = 401;
    }
  });

  it("timeout: retried a bounded number of times, then reported with the request id it sent", async () => {
    const c = client({ timeoutMs: 200, retries: 2 });
    await c.accountLink(sims.hashOf("demo-open")); // session first, so only accountLink hangs
    sims.cardlyticsFaults.set("/v2/data/accountLink", { dropRate: 1 });
    const result = await c.accountLink(sims.hashOf("demo-open"));
    expect(result).toMatchObject({ outcome: "failed", reason: "timeout", httpStatus: null, attempts: 3, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it("5xx and 429: retried, then reported", async () => {
    sims.cardlyticsFaults.set("/v2/data/accountLink", { errorRate: 1 });
    expect(await client({ retries: 2 }).accountLink(sims.hashOf("demo-open"))).toMatchObject({ outcome: "failed", reason: "server-error", httpStatus: 503, attempts: 3 });
    sims.cardlyticsFaults.set("/v2/data/accountLink", { rateLimitRate: 1 });
    expect(await client({ retries: 0 }).accountLink(sims.hashOf("demo-open"))).toMatchObject({ outcome: "failed", reason: "rate-limited", httpStatus: 429, attempts: 1 });
  });

  it("unreachable: a closed port fails fast and clearly", async () => {
    expect(await client({ baseUrl: "http://127.0.0.1:9", retries: 0 }).accountLink(sims.hashOf("demo-open"))).toMatchObject({ outcome: "failed", reason: "unreachable", httpStatus: null });
  });

  it("sends x-mock-data and gets canned data back", async () => {
    expect(await client().accountLink(sims.hashOf("demo-none"), { mockData: true })).toMatchObject({ outcome: "linked", accounts: [{ fiName: "Mock Bank" }] });
  });
});
