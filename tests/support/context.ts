import { randomBytes } from "node:crypto";
import { CardlyticsClient } from "../../app/cardlytics/client.server";
import { createPlaidClient } from "../../app/plaid/client.server";
import { PlaidKeyCache, plaidKeyFetcher } from "../../app/webhooks/verify.server";
import { loadConfig, type Config } from "../../app/config/env.server";
import type { AppContext } from "../../app/context";
import { commitSessionCookie } from "../../app/staff/guards.server";
import { hashPassword } from "../../app/staff/password.server";
import { ROLES, type Role } from "../../app/staff/permissions";
import { createSession } from "../../app/staff/sessions.server";
import type { Db } from "../../db/open";
import { staffUsers } from "../../db/schema";
import { freshDb } from "./db";
import { saveAuthSettings } from "../../app/staff/auth-settings.server";
import { consoleJobs } from "../../app/jobs/console-jobs.server";
import type { JobRunner } from "../../app/jobs/runner.server";
import { createLogger } from "../../app/ops/log.server";

export const ORIGIN = "http://linkdesk.test";

export function testEnv(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: "test",
    SESSION_SECRET: randomBytes(32).toString("hex"),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    CUSTOMER_ID_HMAC_KEY: randomBytes(32).toString("hex"),
    PLAID_CLIENT_ID: "test-plaid-client",
    PLAID_SECRET: "test-plaid-secret",
    CARDLYTICS_CLIENT_ID: "test-cardlytics-client",
    CARDLYTICS_SECRET: "test-cardlytics-secret",
    LOG_LEVEL: "silent",
    // Off for tests of everything else; the tests of the reason prompt turn it on.
    REQUIRE_ACCESS_REASON: "off",
    ...overrides,
  };
}

/** A controllable clock: tests move time forward instead of sleeping. */
export class TestClock {
  constructor(public current = new Date("2026-11-22T12:00:00Z")) {}
  now = () => new Date(this.current);
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export type Harness = {
  db: Db;
  config: Config;
  clock: TestClock;
  /** The console's job runner over this database; not started, so nothing recurring runs unless a test asks. */
  jobs: JobRunner;
  context: (clientAddress?: string) => AppContext;
  users: Record<Role, { id: number; email: string; password: string }>;
  cookieFor: (role: Role) => Promise<string>;
  request: (path: string, init?: RequestInit & { role?: Role; cookie?: string }) => Promise<Request>;
};

/**
 * The migration's sign-in policy makes admins and ops enroll a second factor before anything else; tests of other
 * features that sign such accounts in through the form start from a policy that requires it of no role.
 */
export function requireNoSecondFactor(db: Db, now = new Date()): void {
  saveAuthSettings(db, { mfaRequiredRoles: [], ssoRequired: false, breakGlassStaffId: null }, { by: null, now });
}

// Cheap to hash: these users exist to be signed in through sessions, and login tests use their own password.
const PASSWORD = "correct horse battery staple";

export async function createHarness(envOverrides: Record<string, string> = {}): Promise<Harness> {
  const db = freshDb();
  // Unless a test points it at a simulator, Cardlytics is a closed loopback port: calls fail fast as unreachable.
  const config = loadConfig(testEnv({ CARDLYTICS_BASE_URL: "http://127.0.0.1:9", PLAID_BASE_URL: "http://127.0.0.1:9", PUBLIC_ORIGIN: ORIGIN, ...envOverrides }));
  const cardlytics = new CardlyticsClient({ ...config.cardlytics, retries: 0, timeoutMs: 3000 });
  const clock = new TestClock();
  const passwordHash = await hashPassword(PASSWORD);
  const users = {} as Harness["users"];
  for (const role of ROLES) {
    const email = `${role}@example.test`;
    const { id } = db
      .insert(staffUsers)
      .values({ email, name: `Test ${role}`, role, passwordHash, passwordChangedAt: clock.now(), createdAt: clock.now(), updatedAt: clock.now() })
      .returning({ id: staffUsers.id })
      .get();
    users[role] = { id, email, password: PASSWORD };
  }
  // The migration's policy requires a second factor of admins and ops; the harness's users sign in through sessions
  // made here, so the tests of everything else start with no role required to enroll. Tests of enrollment set it.
  requireNoSecondFactor(db, clock.now());
  const plaid = createPlaidClient(config, 5000);
  const webhookKeys = new PlaidKeyCache(plaidKeyFetcher(plaid), () => clock.now().getTime());
  const jobs = consoleJobs({ db, log: createLogger({ level: config.logLevel }), cardlytics, plaid, config, now: clock.now });
  const context = (clientAddress = "127.0.0.1"): AppContext => ({ db, config, cardlytics, plaid, webhookKeys, jobs, clientAddress, now: clock.now });
  const cookieFor = async (role: Role) => {
    const sessionId = createSession(db, {
      staffUserId: users[role].id,
      clientAddress: "127.0.0.1",
      userAgent: "vitest",
      now: clock.now(),
      limits: config.session,
    });
    return cookieHeader(await commitSessionCookie(new Request(ORIGIN), { config }, sessionId));
  };
  const request = async (path: string, init: RequestInit & { role?: Role; cookie?: string } = {}) => {
    const { role, cookie, ...rest } = init;
    const headers = new Headers(rest.headers);
    const method = (rest.method ?? "GET").toUpperCase();
    if (method !== "GET" && !headers.has("Origin")) headers.set("Origin", ORIGIN);
    const c = cookie ?? (role ? await cookieFor(role) : undefined);
    if (c) headers.set("Cookie", c);
    return new Request(`${ORIGIN}${path}`, { ...rest, method, headers });
  };
  return { db, config, clock, jobs, context, users, cookieFor, request };
}

/** "name=value" from a Set-Cookie header, as a browser would send it back. */
export function cookieHeader(setCookie: string): string {
  return setCookie.split(";")[0]!;
}

export function form(values: Record<string, string>): URLSearchParams {
  return new URLSearchParams(values);
}

/** The HTTP status of whatever a loader or action produced: a Response, thrown or returned, or `data(…, {status})`. */
export async function statusOf(run: () => unknown): Promise<number> {
  try {
    const result = await run();
    if (result instanceof Response) return result.status;
    if (result && typeof result === "object" && "init" in result) {
      return (result as { init?: { status?: number } }).init?.status ?? 200;
    }
    return 200;
  } catch (thrown) {
    if (thrown instanceof Response) return thrown.status;
    throw thrown;
  }
}

/**
 * Posts a form (values may repeat, as checkboxes do) to a route's action as ops, and reads the answer whichever way
 * the action gave it: a redirect's location, `data()` with its status, plain data, or a thrown Response's text.
 */
export async function postForm<T = Record<string, unknown>>(
  h: Harness,
  mod: { action: (a: never) => unknown },
  path: string,
  values: Record<string, string | string[]>,
  params: Record<string, string> = {},
): Promise<{ status: number; location: string | null; text: string; data: T }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) for (const one of [v].flat()) body.append(k, one);
  const request = await h.request(path, { method: "POST", role: "ops", body });
  try {
    const out = await mod.action({ request, context: h.context(), params } as never);
    if (out instanceof Response) return { status: out.status, location: out.headers.get("Location"), text: "", data: {} as T };
    const wrapped = out as { data?: T; init?: { status?: number } };
    return wrapped.init ? { status: wrapped.init.status ?? 200, location: null, text: "", data: wrapped.data! } : { status: 200, location: null, text: "", data: out as T };
  } catch (thrown) {
    if (thrown instanceof Response) return { status: thrown.status, location: null, text: await thrown.text(), data: {} as T };
    throw thrown;
  }
}
