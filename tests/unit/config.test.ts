import { describe, expect, it } from "vitest";
import { ConfigError, environmentBadge, loadConfig } from "../../app/config/env.server";
import { clientAddressOf } from "../../app/lib/client-address.server";
import { testEnv } from "../support/context";

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("configuration", () => {
  it("refuses to start without secrets, naming each missing variable", () => {
    const found = problems({} as NodeJS.ProcessEnv);
    expect(found.join("\n")).toContain("SESSION_SECRET is required");
    expect(found.join("\n")).toContain("TOKEN_ENCRYPTION_KEY is required");
    expect(found.join("\n")).toContain("CUSTOMER_ID_HMAC_KEY is required");
  });

  it("refuses short, placeholder and malformed secrets", () => {
    expect(problems(testEnv({ SESSION_SECRET: "short" }))).toEqual(["SESSION_SECRET must be at least 32 characters"]);
    expect(problems(testEnv({ TOKEN_ENCRYPTION_KEY: "z".repeat(64) }))).toEqual([
      "TOKEN_ENCRYPTION_KEY must be 64 hex characters (32 random bytes)",
    ]);
    expect(problems(testEnv({ PORT: "99999" }))[0]).toMatch(/^PORT: /);
    expect(problems(testEnv({ PLAID_ENV: "development" }))[0]).toMatch(/^PLAID_ENV: /);
  });

  it("reads the sign-in throttle by (account, address) and account-wide, refusing a wide limit one address could reach alone", () => {
    expect(loadConfig(testEnv()).loginThrottle).toEqual({ maxPerAccountAddress: 5, windowMs: 15 * 60_000, maxAccountWide: 50, accountWideWindowMs: 60 * 60_000, knownAddressMs: 30 * 86_400_000 });
    // 5 per 15 minutes is 20 an hour from one address: a wide limit of 20 would let that one address lock the account.
    expect(problems(testEnv({ LOGIN_MAX_FAILURES_ACCOUNT_WIDE: "20" }))[0]).toMatch(/^LOGIN_MAX_FAILURES_ACCOUNT_WIDE must be more than one address can reach on its own .*\(20 with/);
    expect(problems(testEnv({ LOGIN_MAX_FAILURES_ACCOUNT_WIDE: "21" }))).toEqual([]);
    expect(problems(testEnv({ LOGIN_MAX_FAILURES_PER_ACCOUNT: "5", LOGIN_MAX_FAILURES_PER_ADDRESS: "20" }))).toEqual([
      expect.stringMatching(/^LOGIN_MAX_FAILURES_PER_ACCOUNT is no longer read; set LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS/),
      expect.stringMatching(/^LOGIN_MAX_FAILURES_PER_ADDRESS is no longer read/),
    ]);
  });

  it("reads TRUST_PROXY as a hop count or proxy addresses, refusing 'true', which would believe every hop", () => {
    expect(problems(testEnv({ TRUST_PROXY: "true" }))[0]).toMatch(/^TRUST_PROXY: .*number of proxies/);
    expect(problems(testEnv({ TRUST_PROXY: "10.0.0.1, nonsense" }))[0]).toMatch(/^TRUST_PROXY: "nonsense"/);
    expect(loadConfig(testEnv()).trustProxy).toEqual({ kind: "none" });
    const xff = "6.6.6.6, 198.51.100.1, 10.0.0.2";
    expect(clientAddressOf("10.0.0.1", xff, loadConfig(testEnv()).trustProxy)).toBe("10.0.0.1");
    expect(clientAddressOf("10.0.0.1", xff, loadConfig(testEnv({ TRUST_PROXY: "1" })).trustProxy)).toBe("10.0.0.2");
    expect(clientAddressOf("10.0.0.1", xff, loadConfig(testEnv({ TRUST_PROXY: "2" })).trustProxy)).toBe("198.51.100.1");
    expect(clientAddressOf("::ffff:10.0.0.1", xff, loadConfig(testEnv({ TRUST_PROXY: "10.0.0.1,10.0.0.2" })).trustProxy)).toBe("198.51.100.1");
    // A request that did not come through the named proxy keeps its own address, whatever it wrote.
    expect(clientAddressOf("192.0.2.5", xff, loadConfig(testEnv({ TRUST_PROXY: "10.0.0.1" })).trustProxy)).toBe("192.0.2.5");
    expect(clientAddressOf("10.0.0.1", undefined, loadConfig(testEnv({ TRUST_PROXY: "3" })).trustProxy)).toBe("10.0.0.1");
  });

  it("reads PUBLIC_ORIGIN as a list of origins, refusing anything with a path", () => {
    expect(loadConfig(testEnv({ PUBLIC_ORIGIN: "https://Linkdesk.example.com, http://10.0.0.5:3000/" })).publicOrigins).toEqual(["https://linkdesk.example.com", "http://10.0.0.5:3000"]);
    expect(problems(testEnv({ PUBLIC_ORIGIN: "https://linkdesk.example.com/console" }))[0]).toMatch(/^PUBLIC_ORIGIN: .* is not an origin/);
    expect(problems(testEnv({ PUBLIC_ORIGIN: "linkdesk.example.com" }))[0]).toMatch(/^PUBLIC_ORIGIN: /);
    expect(loadConfig(testEnv()).publicOrigins).toEqual([]);
  });

  it("needs the vendors' credentials unless the simulators stand in for them", () => {
    const { CARDLYTICS_SECRET: _c, PLAID_CLIENT_ID: _p, ...rest } = testEnv();
    expect(problems(rest as NodeJS.ProcessEnv)).toEqual([
      "PLAID_CLIENT_ID is required (or set LINKDESK_SIMULATORS=on to run against the simulators)",
      "CARDLYTICS_SECRET is required (or set LINKDESK_SIMULATORS=on to run against the simulators)",
    ]);
    expect(problems({ ...rest, LINKDESK_SIMULATORS: "on" } as NodeJS.ProcessEnv)).toEqual([]);
    expect(problems({ ...rest, LINKDESK_SIMULATORS: "on", PLAID_ENV: "production" } as NodeJS.ProcessEnv)[0]).toMatch(/^LINKDESK_SIMULATORS: /);
  });

  it("derives Plaid's host from PLAID_ENV unless a base URL is given", () => {
    expect(loadConfig(testEnv()).plaid.baseUrl).toBe("https://sandbox.plaid.com");
    expect(loadConfig(testEnv({ PLAID_ENV: "production" })).plaid.baseUrl).toBe("https://production.plaid.com");
    expect(loadConfig(testEnv({ PLAID_BASE_URL: "http://127.0.0.1:4010" })).plaid.baseUrl).toBe("http://127.0.0.1:4010");
  });

  it("shows SIMULATOR, SANDBOX or PRODUCTION", () => {
    expect(environmentBadge(loadConfig(testEnv({ LINKDESK_SIMULATORS: "on" })))).toBe("SIMULATOR");
    expect(environmentBadge(loadConfig(testEnv()))).toBe("SANDBOX");
    expect(environmentBadge(loadConfig(testEnv({ PLAID_ENV: "production" })))).toBe("PRODUCTION");
  });
});
