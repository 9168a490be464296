// The console's entry point: `npm start` (production build) and `npm run dev` (Vite in middleware mode).
import { resolve } from "node:path";
import type { ServerBuild } from "@remix-run/node";
import type { DestinationStream } from "pino";
import { createLogger, type Logger } from "../app/ops/log.server";
import { Metrics, type VendorCall } from "../app/ops/metrics.server";
import { ConfigError, loadConfig, type Config } from "../app/config/env.server";
import { openDatabase, type Db } from "../db/open";
import { refreshPlannerStats, runMigrations } from "../db/migrate";
import { CardlyticsClient } from "../app/cardlytics/client.server";
import { createPlaidClient } from "../app/plaid/client.server";
import { PlaidKeyCache, plaidKeyFetcher } from "../app/webhooks/verify.server";
import { redactStoredWebhookBodies } from "../app/webhooks/redact.server";
import { rebindStoredTokens } from "../app/lib/token-rebind.server";
import { startBackupSchedule } from "../app/ops/backups.server";
import { consoleJobs } from "../app/jobs/console-jobs.server";
import type { JobRunner } from "../app/jobs/runner.server";
import { startHttpServer, type RunningServer } from "./app";
import { startSimulators, type RunningSimulators } from "../simulators";
import type { RunningIdp } from "../simulators/idp/server";
import { SSO_CALLBACK_PATH } from "../app/staff/paths";

export type Console = Omit<RunningServer, "close"> & { db: Db; config: Config; simulators: RunningSimulators | null; identityProvider: RunningIdp | null; log: Logger; metrics: Metrics; jobs: JobRunner; close: () => Promise<void> };

/** Points the vendor settings at the in-process simulators: the only place the console knows they exist. */
function onSimulators(config: Config, sims: RunningSimulators): Config {
  return {
    ...config,
    plaid: { ...config.plaid, env: "sandbox", baseUrl: sims.plaid.url, ...sims.credentials.plaid },
    cardlytics: { baseUrl: sims.cardlytics.url, ...sims.credentials.cardlytics },
  };
}

/**
 * With the simulators on and no OIDC_ISSUER, single sign-on goes to the local identity provider: the console is its
 * registered client (its callback on every public origin), its groups are mapped to roles, and staff are created on
 * first sign-in. Loaded only then, so a console with a real provider never loads oidc-provider.
 */
async function startLocalIdentityProvider(config: Config): Promise<RunningIdp> {
  const { DEMO_ROLE_MAP, startIdentityProvider } = await import("../simulators/idp/server");
  const idp = await startIdentityProvider({ redirectUris: config.publicOrigins.map((origin) => `${origin}${SSO_CALLBACK_PATH}`) });
  config.oidc = { issuer: idp.issuer, clientId: idp.client.clientId, clientSecret: idp.client.clientSecret, roleClaim: "groups", roleMap: { ...DEMO_ROLE_MAP }, provisioning: "create" };
  return idp;
}

/**
 * Starts the whole console. In production the Remix build is given (the one this module was loaded from); without
 * one, the build under `build/` is loaded, or Vite serves the app when LINKDESK_DEV=1.
 */
export async function startConsole(env: NodeJS.ProcessEnv = process.env, options: { build?: ServerBuild; logDestination?: DestinationStream } = {}): Promise<Console> {
  let config = loadConfig(env);
  const dev = env.LINKDESK_DEV === "1";
  // Readable lines for a developer at a terminal; JSON lines for everything else (files, pipes, collectors).
  const log = createLogger({ level: config.logLevel, pretty: dev && !options.logDestination && Boolean(process.stdout.isTTY), destination: options.logDestination });
  const simulators = config.simulators ? await startSimulators({ customerIdHmacKey: config.customerIdHmacKey, env }) : null;
  if (simulators) config = onSimulators(config, simulators);
  const db = openDatabase(config.databasePath);
  runMigrations(db);
  // Rows stored before a protection existed are brought up to it: tokens in webhook bodies redacted, vendor tokens
  // bound to their rows. Both are idempotent and transactional.
  redactStoredWebhookBodies(db);
  const tokens = rebindStoredTokens(db, config.tokenEncryptionKey);
  if (tokens.rebound) log.info({ rebound: tokens.rebound }, `${tokens.rebound} stored vendor token(s) re-encrypted bound to their rows`);
  if (tokens.unreadable) log.warn({ unreadable: tokens.unreadable }, `${tokens.unreadable} stored vendor token(s) could not be read with TOKEN_ENCRYPTION_KEY; they are kept as they are and refused when used`);
  refreshPlannerStats(db);
  const metrics = new Metrics(db, config.databasePath);
  // Every vendor call is logged (vendor, endpoint, status, latency, the vendor's request id) and counted.
  const vendorLog = log.child({ component: "vendor" });
  const onCall = (call: VendorCall) => {
    metrics.vendorCall(call);
    const line = { vendor: call.vendor, endpoint: call.endpoint, status: call.status, ms: Math.round(call.ms), vendorRequestId: call.requestId };
    if (typeof call.status === "number" && call.status < 500) vendorLog.info(line, "vendor call");
    else vendorLog.warn(line, "vendor call failed");
  };
  const cardlytics = new CardlyticsClient({ ...config.cardlytics, onCall });
  const plaid = createPlaidClient(config, undefined, onCall);
  // All background work, on one runner over the jobs table: what a restart cut off is resumed or marked interrupted
  // before the first request can read it.
  const jobs = consoleJobs({ db, log, metrics, cardlytics, plaid, config });
  jobs.recover();
  const running = await startHttpServer(
    config,
    { db, cardlytics, plaid, webhookKeys: new PlaidKeyCache(plaidKeyFetcher(plaid)), log, metrics, jobs },
    dev ? { kind: "development" } : { kind: "production", buildPath: resolve("build"), build: options.build },
  );
  // Plaid must call back somewhere: by default, this console's own receiver.
  config.plaid.webhookUrl ??= `${running.url}/webhooks/plaid`;
  // After the server listens: the provider must know the console's callback addresses.
  const identityProvider = config.simulators && !config.oidc ? await startLocalIdentityProvider(config) : null;
  jobs.start();
  // Online backups on a schedule (BACKUP_INTERVAL_HOURS); admins also take them from /admin/backups.
  const backups = startBackupSchedule({
    db,
    settings: config.backup,
    intervalMs: config.backup.intervalMs,
    now: () => new Date(),
    log: { info: (message, details) => log.info({ job: "backup", ...details }, message), error: (message, details) => log.error({ job: "backup", ...details }, message) },
  });
  return {
    ...running,
    db,
    config,
    simulators,
    identityProvider,
    log,
    metrics,
    jobs,
    // Graceful: no new connections, in-flight requests (and the webhook group commits they wait on) finish, running
    // jobs stop at their next safe point, then the simulators and last the database close, all within one deadline.
    // Whatever is still running at the deadline is cut off and named in the log.
    close: async () => {
      const deadline = Date.now() + config.shutdownTimeoutMs;
      log.info({ timeoutMs: config.shutdownTimeoutMs }, "shutting down");
      await backups.stop();
      const stopping = jobs.stop(Math.max(0, deadline - Date.now()));
      const { cutOff } = await running.close(Math.max(0, deadline - Date.now()));
      const { cutOff: jobsCutOff } = await stopping;
      if (cutOff || jobsCutOff.length) log.warn({ requestsCutOff: cutOff, jobsCutOff }, "shutdown deadline reached; this was cut off");
      await identityProvider?.close();
      await simulators?.close();
      db.$client.close();
      log.info("stopped");
    },
  };
}

export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}

export function closeOnSignals(close: () => Promise<void>): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void close().then(() => process.exit(0));
    });
  }
}

/**
 * `npm start`: the production server, called by server/start.js with the build this module is part of, so the
 * routes, the webhook receiver and the background work are one module graph.
 */
export async function main(build?: ServerBuild): Promise<void> {
  try {
    const running = await startConsole(process.env, { build });
    running.log.info({ url: running.url }, `Linkdesk is listening on ${running.url}`);
    // A rejection nothing awaited is a bug; it is logged with its stack rather than ending the process.
    process.on("unhandledRejection", (reason) => running.log.error({ err: reason }, "unhandled rejection"));
    closeOnSignals(running.close);
  } catch (error) {
    exitOnConfigError(error);
  }
}
