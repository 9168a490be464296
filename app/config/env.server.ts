import { dirname, join } from "node:path";
import { z } from "zod";
import { parseProxyTrust, type ProxyTrust } from "../lib/client-address.server";
import { isRole, type Role } from "../staff/permissions";

/** "group=role,group=role" → { group: role }; a problem is given back as a message. */
export function parseRoleMap(value: string): Record<string, Role> | string {
  const map: Record<string, Role> = {};
  for (const pair of value.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = pair.lastIndexOf("=");
    const group = pair.slice(0, at).trim();
    const role = pair.slice(at + 1).trim();
    if (at <= 0 || !group) return `${JSON.stringify(pair)} is not group=role`;
    if (!isRole(role)) return `${JSON.stringify(pair)} maps to ${JSON.stringify(role)}, which is not a role (admin, ops, support, pm)`;
    map[group] = role;
  }
  return map;
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
  } catch {
    return false;
  }
}

const WEAK_SECRETS = new Set(["changeme", "secret", "password", "development", "test"]);

const secret = (name: string, minLength: number) =>
  z
    .string({ error: `${name} is required` })
    .min(minLength, `${name} must be at least ${minLength} characters`)
    .refine((v) => !WEAK_SECRETS.has(v.toLowerCase()), `${name} is a well-known placeholder; generate a real one`);

const hexKey = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .regex(/^[0-9a-fA-F]{64}$/, `${name} must be 64 hex characters (32 random bytes)`);

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z.object({
  NODE_ENV: z.enum(["production", "development", "test"]).default("production"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default("127.0.0.1"),
  DATABASE_PATH: z.string().min(1).default("data/linkdesk.db"),
  SESSION_SECRET: secret("SESSION_SECRET", 32),
  TOKEN_ENCRYPTION_KEY: hexKey("TOKEN_ENCRYPTION_KEY"),
  CUSTOMER_ID_HMAC_KEY: secret("CUSTOMER_ID_HMAC_KEY", 32),
  PLAID_ENV: z.enum(["sandbox", "production"]).default("sandbox"),
  PLAID_BASE_URL: z.url().optional(),
  PLAID_CLIENT_ID: z.string().min(1).optional(),
  PLAID_SECRET: z.string().min(1).optional(),
  PLAID_WEBHOOK_URL: z.url().optional(),
  CARDLYTICS_BASE_URL: z.url().default("https://publisher-rewards-api.cardlytics.com"),
  CARDLYTICS_CLIENT_ID: z.string().min(1).optional(),
  CARDLYTICS_SECRET: z.string().min(1).optional(),
  // The switch that starts the Plaid and Cardlytics simulators in-process and points the base URLs at them.
  LINKDESK_SIMULATORS: z.enum(["on", "off"]).default("off"),
  // Behind reverse proxies: how many of them (a hop count) or their addresses, so that audit and throttling read the
  // client's address from X-Forwarded-For without believing what the client itself wrote there.
  TRUST_PROXY: z
    .string()
    .trim()
    .default("false")
    .transform((v, ctx): ProxyTrust => {
      const parsed = parseProxyTrust(v);
      if (typeof parsed === "string") {
        ctx.addIssue({ code: "custom", message: `TRUST_PROXY: ${parsed}` });
        return z.NEVER;
      }
      return parsed;
    }),
  // The console's own origin(s), as browsers see it: scheme, host and port, comma-separated. A state-changing request
  // is accepted only from one of these. Unset, it is the address the server listens on (and localhost beside a
  // loopback address), which suits the demo and tests; behind a proxy or a real host name, set it.
  PUBLIC_ORIGIN: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const origins = (v ?? "").split(",").map((o) => o.trim()).filter(Boolean);
      for (const origin of origins) {
        if (!isOrigin(origin)) {
          ctx.addIssue({ code: "custom", message: `PUBLIC_ORIGIN: ${JSON.stringify(origin)} is not an origin; use scheme://host[:port], like https://linkdesk.example.com` });
          return z.NEVER;
        }
      }
      return origins.map((o) => new URL(o).origin);
    }),
  // An OPEN Cardlytics account this close to its expirationDate is shown as expiring.
  EXPIRING_WITHIN_DAYS: positiveInt(14),
  // Webhook deliveries older than this are pruned (hourly, and at start-up).
  WEBHOOK_RETENTION_DAYS: positiveInt(90),
  // Plaid Check: one regeneration per customer per cooldown; at most this many /cra/check_report/create a minute
  // (Plaid allows 100); a report with no READY/FAILED webhook after the timeout is flagged.
  CRA_COOLDOWN_MINUTES: positiveInt(60),
  CRA_MAX_PER_MINUTE: positiveInt(90),
  CRA_WEBHOOK_TIMEOUT_MINUTES: positiveInt(30),
  // A bulk regeneration keeps at most this many of its reports in flight (queued, or sent and awaiting the webhook).
  CRA_BULK_CONCURRENCY: positiveInt(20),
  SESSION_IDLE_MINUTES: positiveInt(30),
  SESSION_MAX_HOURS: positiveInt(12),
  // Sign-in throttling: failures for one account from one address first; then a softer, slower limit for the account
  // from everywhere, which addresses the account signed in from before are spared (see app/staff/throttle.server.ts).
  LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS: positiveInt(5),
  LOGIN_FAILURE_WINDOW_MINUTES: positiveInt(15),
  LOGIN_MAX_FAILURES_ACCOUNT_WIDE: positiveInt(50),
  LOGIN_ACCOUNT_WIDE_WINDOW_MINUTES: positiveInt(60),
  // JSON lines on stdout at this level and above; `silent` turns logging off.
  LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  // GET /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, /metrics is off (404).
  METRICS_TOKEN: z.string().min(24, "METRICS_TOKEN must be at least 24 characters").optional(),
  // On SIGTERM/SIGINT: how long in-flight requests and background work get before the process exits anyway.
  SHUTDOWN_TIMEOUT_SECONDS: positiveInt(20),
  // Readiness fails when the oldest queued Plaid Check request has waited longer than this.
  READY_MAX_QUEUE_LAG_MINUTES: positiveInt(10),
  // Online backups of the database (app/ops/backups.server.ts): where they go (unset: a "backups" directory beside
  // the database file), how often the console takes one on its own (0 turns the schedule off; an admin can still
  // back up from /admin/backups), and how many are kept (the oldest beyond that are deleted).
  BACKUP_DIR: z.string().trim().min(1).optional(),
  BACKUP_INTERVAL_HOURS: z.coerce.number().min(0, "BACKUP_INTERVAL_HOURS must be 0 (off) or a number of hours").default(24),
  BACKUP_KEEP: positiveInt(14),
  // Sensitive actions (staff and role changes, API keys, factor resets, bulk regeneration, removing an item, revealing
  // a token) need a proof of identity at most this many minutes old; older, the page asks for one first. 0: every
  // sensitive action asks.
  STEP_UP_MINUTES: z.coerce.number().int().min(0, "STEP_UP_MINUTES must be 0 (always ask) or a number of minutes").default(10),
  // Opening a customer asks for a reason or ticket id, once per customer per session, kept in the audit log.
  REQUIRE_ACCESS_REASON: z.enum(["on", "off"]).default("on"),
  // Single sign-on through the publisher's OpenID Connect provider (Okta, Entra ID, Google Workspace…). The console
  // is a confidential client using the authorization code flow with PKCE; its redirect URI is
  // <public origin>/auth/sso/callback. Roles come from the ID token's OIDC_ROLE_CLAIM (a list of groups, or one
  // value), mapped by OIDC_ROLE_MAP ("group=role,group=role"); a user with no mapped group is refused. With
  // OIDC_PROVISIONING=create an account is made on first sign-in; with invite, only existing staff may sign in.
  OIDC_ISSUER: z.url().optional(),
  OIDC_CLIENT_ID: z.string().min(1).optional(),
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  OIDC_ROLE_CLAIM: z.string().trim().min(1).default("groups"),
  OIDC_ROLE_MAP: z.string().optional(),
  OIDC_PROVISIONING: z.enum(["create", "invite"]).default("invite"),
});

export type OidcConfig = {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  roleClaim: string;
  roleMap: Record<string, Role>;
  provisioning: "create" | "invite";
};

export type Config = {
  nodeEnv: "production" | "development" | "test";
  port: number;
  host: string;
  databasePath: string;
  sessionSecret: string;
  tokenEncryptionKey: Buffer;
  customerIdHmacKey: string;
  plaid: { env: "sandbox" | "production"; baseUrl: string; clientId?: string; secret?: string; webhookUrl?: string };
  cardlytics: { baseUrl: string; clientId: string; secret: string };
  simulators: boolean;
  trustProxy: ProxyTrust;
  /** Filled in at start-up from the listening address when PUBLIC_ORIGIN is unset; see app/lib/public-origin.server.ts. */
  publicOrigins: string[];
  session: { idleMs: number; maxMs: number };
  expiringWithinDays: number;
  webhookRetentionDays: number;
  cra: { cooldownMs: number; maxPerMinute: number; webhookTimeoutMs: number; bulkConcurrency: number };
  loginThrottle: { maxPerAccountAddress: number; windowMs: number; maxAccountWide: number; accountWideWindowMs: number; knownAddressMs: number };
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  metricsToken: string | null;
  shutdownTimeoutMs: number;
  readyMaxQueueLagMs: number;
  /** intervalMs 0: no scheduled backups. */
  backup: { dir: string; intervalMs: number; keep: number };
  stepUpMs: number;
  requireAccessReason: boolean;
  /** Null when single sign-on is not configured (with the simulators on, the local identity provider fills it in at start-up). */
  oidc: OidcConfig | null;
};

// Replaced by the throttle by (account, address): a start-up that still sets them is told what to set instead.
const RETIRED = {
  LOGIN_MAX_FAILURES_PER_ACCOUNT: "LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS (one account from one address) and LOGIN_MAX_FAILURES_ACCOUNT_WIDE (one account from everywhere)",
  LOGIN_MAX_FAILURES_PER_ADDRESS: "nothing: one address is no longer limited across accounts, which behind a proxy locked out every staff member; LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS limits each account from each address",
} as const;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Linkdesk cannot start; fix its configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

// An address the account signed in from within this many days is spared the account-wide limit.
const KNOWN_ADDRESS_DAYS = 30;

const PLAID_HOSTS = { sandbox: "https://sandbox.plaid.com", production: "https://production.plaid.com" } as const;

/** Reads and checks the environment once; every problem is reported at once, each naming its variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? "environment");
        return issue.message.includes(name) ? issue.message : `${name}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  const retired = (Object.keys(RETIRED) as (keyof typeof RETIRED)[]).filter((name) => env[name] !== undefined);
  if (retired.length) throw new ConfigError(retired.map((name) => `${name} is no longer read; set ${RETIRED[name]}`));
  // The account-wide limit is there for guesses spread over many addresses: one address alone, held to its own
  // limit, must never reach it, or that address could lock the account out everywhere.
  const oneAddressMax = e.LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS * Math.ceil(e.LOGIN_ACCOUNT_WIDE_WINDOW_MINUTES / e.LOGIN_FAILURE_WINDOW_MINUTES);
  if (e.LOGIN_MAX_FAILURES_ACCOUNT_WIDE <= oneAddressMax) {
    throw new ConfigError([
      `LOGIN_MAX_FAILURES_ACCOUNT_WIDE must be more than one address can reach on its own within LOGIN_ACCOUNT_WIDE_WINDOW_MINUTES (${oneAddressMax} with LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS=${e.LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS} per ${e.LOGIN_FAILURE_WINDOW_MINUTES} minutes), or one address could lock the account out for everyone`,
    ]);
  }
  // Without the simulators the console talks to the vendors and cannot work without their credentials.
  if (e.LINKDESK_SIMULATORS === "off") {
    const missing = (["PLAID_CLIENT_ID", "PLAID_SECRET", "CARDLYTICS_CLIENT_ID", "CARDLYTICS_SECRET"] as const).filter((name) => !e[name]);
    if (missing.length) throw new ConfigError(missing.map((name) => `${name} is required (or set LINKDESK_SIMULATORS=on to run against the simulators)`));
  }
  if (e.LINKDESK_SIMULATORS === "on" && e.PLAID_ENV === "production") {
    throw new ConfigError(["LINKDESK_SIMULATORS: the simulators cannot stand in for production; set PLAID_ENV=sandbox or turn them off"]);
  }
  let oidc: OidcConfig | null = null;
  if (e.OIDC_ISSUER) {
    const problems: string[] = [];
    if (!e.OIDC_CLIENT_ID) problems.push("OIDC_CLIENT_ID is required with OIDC_ISSUER");
    const roleMap = parseRoleMap(e.OIDC_ROLE_MAP ?? "");
    if (typeof roleMap === "string") problems.push(`OIDC_ROLE_MAP: ${roleMap}`);
    else if (Object.keys(roleMap).length === 0) problems.push("OIDC_ROLE_MAP is required with OIDC_ISSUER: map at least one group to a role, like linkdesk-support=support");
    if (problems.length) throw new ConfigError(problems);
    oidc = { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID!, clientSecret: e.OIDC_CLIENT_SECRET, roleClaim: e.OIDC_ROLE_CLAIM, roleMap: roleMap as Record<string, Role>, provisioning: e.OIDC_PROVISIONING };
  }
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databasePath: e.DATABASE_PATH,
    sessionSecret: e.SESSION_SECRET,
    tokenEncryptionKey: Buffer.from(e.TOKEN_ENCRYPTION_KEY, "hex"),
    customerIdHmacKey: e.CUSTOMER_ID_HMAC_KEY,
    plaid: {
      env: e.PLAID_ENV,
      baseUrl: e.PLAID_BASE_URL ?? PLAID_HOSTS[e.PLAID_ENV],
      clientId: e.PLAID_CLIENT_ID,
      secret: e.PLAID_SECRET,
      webhookUrl: e.PLAID_WEBHOOK_URL,
    },
    // With the simulators on, these are replaced by the simulators' own credentials at start-up.
    cardlytics: { baseUrl: e.CARDLYTICS_BASE_URL, clientId: e.CARDLYTICS_CLIENT_ID ?? "", secret: e.CARDLYTICS_SECRET ?? "" },
    simulators: e.LINKDESK_SIMULATORS === "on",
    trustProxy: e.TRUST_PROXY,
    publicOrigins: e.PUBLIC_ORIGIN,
    session: { idleMs: e.SESSION_IDLE_MINUTES * 60_000, maxMs: e.SESSION_MAX_HOURS * 3_600_000 },
    expiringWithinDays: e.EXPIRING_WITHIN_DAYS,
    webhookRetentionDays: e.WEBHOOK_RETENTION_DAYS,
    cra: { cooldownMs: e.CRA_COOLDOWN_MINUTES * 60_000, maxPerMinute: Math.min(e.CRA_MAX_PER_MINUTE, 100), webhookTimeoutMs: e.CRA_WEBHOOK_TIMEOUT_MINUTES * 60_000, bulkConcurrency: Math.min(e.CRA_BULK_CONCURRENCY, 500) },
    loginThrottle: {
      maxPerAccountAddress: e.LOGIN_MAX_FAILURES_PER_ACCOUNT_ADDRESS,
      windowMs: e.LOGIN_FAILURE_WINDOW_MINUTES * 60_000,
      maxAccountWide: e.LOGIN_MAX_FAILURES_ACCOUNT_WIDE,
      accountWideWindowMs: e.LOGIN_ACCOUNT_WIDE_WINDOW_MINUTES * 60_000,
      knownAddressMs: KNOWN_ADDRESS_DAYS * 86_400_000,
    },
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN ?? null,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_SECONDS * 1000,
    readyMaxQueueLagMs: e.READY_MAX_QUEUE_LAG_MINUTES * 60_000,
    backup: {
      dir: e.BACKUP_DIR ?? join(dirname(e.DATABASE_PATH), "backups"),
      intervalMs: Math.round(e.BACKUP_INTERVAL_HOURS * 3_600_000),
      keep: e.BACKUP_KEEP,
    },
    stepUpMs: e.STEP_UP_MINUTES * 60_000,
    requireAccessReason: e.REQUIRE_ACCESS_REASON === "on",
    oidc,
  };
}

/** Every variable the schema reads: what .env.example must list (tests/unit/env-example.test.ts). */
export const CONFIG_VARIABLES = Object.keys(schema.shape) as (keyof typeof schema.shape)[];

/** DATABASE_PATH alone, with its default, for the commands that need the database and none of the secrets. */
export function databasePathFrom(env: NodeJS.ProcessEnv = process.env): string {
  const parsed = schema.shape.DATABASE_PATH.safeParse(env.DATABASE_PATH);
  if (!parsed.success) throw new ConfigError([`DATABASE_PATH: ${parsed.error.issues[0]!.message}`]);
  return parsed.data;
}

export type EnvironmentBadge = "SIMULATOR" | "SANDBOX" | "PRODUCTION";

export function environmentBadge(config: Pick<Config, "simulators" | "plaid">): EnvironmentBadge {
  if (config.simulators) return "SIMULATOR";
  return config.plaid.env === "production" ? "PRODUCTION" : "SANDBOX";
}
