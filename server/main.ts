// The console's entry point: `npm start` (production build) and `npm run dev` (Vite in middleware mode).
import { resolve } from "node:path";
import { ConfigError, loadConfig, type Config } from "../app/config/env.server";
import { openDatabase, type Db } from "../db/open";
import { refreshPlannerStats, runMigrations } from "../db/migrate";
import { pruneSessions } from "../app/staff/sessions.server";
import { CardlyticsClient } from "../app/cardlytics/client.server";
import { createPlaidClient } from "../app/plaid/client.server";
import { PlaidKeyCache, plaidKeyFetcher } from "../app/webhooks/verify.server";
import { pruneWebhooks } from "../app/webhooks/maintenance.server";
import { redactStoredWebhookBodies } from "../app/webhooks/redact.server";
import { dispatchReports } from "../app/reports/check-reports.server";
import { advanceBulkRuns } from "../app/reports/bulk-runs.server";
import { markInterruptedJobs } from "../app/cardlytics/recheck-jobs.server";
import { markInterruptedRehandleJobs } from "../app/webhooks/rehandle-jobs.server";
import { startBackupSchedule } from "../app/ops/backups.server";
import { startHttpServer, type RunningServer } from "./app";
import { startSimulators, type RunningSimulators } from "../simulators";

export type Console = RunningServer & { db: Db; config: Config; simulators: RunningSimulators | null };

/** Points the vendor settings at the in-process simulators: the only place the console knows they exist. */
function onSimulators(config: Config, sims: RunningSimulators): Config {
  return {
    ...config,
    plaid: { ...config.plaid, env: "sandbox", baseUrl: sims.plaid.url, ...sims.credentials.plaid },
    cardlytics: { baseUrl: sims.cardlytics.url, ...sims.credentials.cardlytics },
  };
}

export async function startConsole(env: NodeJS.ProcessEnv = process.env): Promise<Console> {
  let config = loadConfig(env);
  const simulators = config.simulators ? await startSimulators({ customerIdHmacKey: config.customerIdHmacKey, env }) : null;
  if (simulators) config = onSimulators(config, simulators);
  const db = openDatabase(config.databasePath);
  runMigrations(db);
  // Rows stored before a protection existed are brought up to it: tokens in webhook bodies redacted, vendor tokens
  // bound to their rows. Both are idempotent and transactional.
  redactStoredWebhookBodies(db);
  refreshPlannerStats(db);
  pruneSessions(db, new Date(), config.session);
  markInterruptedJobs(db, new Date());
  markInterruptedRehandleJobs(db, new Date());
  const dev = env.LINKDESK_DEV === "1";
  const cardlytics = new CardlyticsClient(config.cardlytics);
  const plaid = createPlaidClient(config);
  const running = await startHttpServer(
    config,
    { db, cardlytics, plaid, webhookKeys: new PlaidKeyCache(plaidKeyFetcher(plaid)) },
    dev ? { kind: "development" } : { kind: "production", buildPath: resolve("build") },
  );
  // Plaid must call back somewhere: by default, this console's own receiver.
  config.plaid.webhookUrl ??= `${running.url}/webhooks/plaid`;
  // The Plaid Check queue: bulk runs feed it a bounded number at a time (their progress is in the database, so a
  // restart carries on where it stopped); queued regenerations go out in order, within the per-minute cap.
  const reportDeps = { db, plaid, config, now: () => new Date() };
  let dispatching = false;
  const dispatcher = setInterval(() => {
    if (dispatching) return;
    dispatching = true;
    void Promise.resolve()
      .then(() => advanceBulkRuns(reportDeps))
      .then(() => dispatchReports(reportDeps))
      .catch((error: unknown) => console.error("report dispatch failed", error))
      .finally(() => (dispatching = false));
  }, 2000);
  dispatcher.unref();
  // Housekeeping that fails (a busy database, say) is tried again at the next sweep, never taking the console down.
  const housekeeping = (name: string, job: () => unknown) => {
    try {
      job();
    } catch (error) {
      console.error(`${name} failed; it runs again at the next sweep`, error);
    }
  };
  housekeeping("webhook pruning", () => pruneWebhooks(db, new Date(), config.webhookRetentionDays));
  let sweeps = 0;
  const sweep = setInterval(() => {
    housekeeping("session pruning", () => pruneSessions(db, new Date(), config.session));
    if (++sweeps % 6 === 0) {
      housekeeping("webhook pruning", () => pruneWebhooks(db, new Date(), config.webhookRetentionDays));
      housekeeping("planner statistics", () => refreshPlannerStats(db));
    }
  }, 10 * 60_000);
  sweep.unref();
  // Online backups on a schedule (BACKUP_INTERVAL_HOURS); admins also take them from /admin/backups.
  const backups = startBackupSchedule({
    db,
    settings: config.backup,
    intervalMs: config.backup.intervalMs,
    now: () => new Date(),
    log: { info: (message, details) => console.log(message, details), error: (message, details) => console.error(message, details) },
  });
  return {
    ...running,
    db,
    config,
    simulators,
    close: async () => {
      clearInterval(sweep);
      clearInterval(dispatcher);
      await backups.stop();
      await running.close();
      await simulators?.close();
      db.$client.close();
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

const isEntry = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isEntry) {
  try {
    const running = await startConsole();
    console.log(`Linkdesk is listening on ${running.url}`);
    closeOnSignals(running.close);
  } catch (error) {
    exitOnConfigError(error);
  }
}
