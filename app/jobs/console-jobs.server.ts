import { and, eq, lt, notInArray } from "drizzle-orm";
import type { PlaidApi } from "plaid";
import type { Db } from "../../db/open";
import { refreshPlannerStats } from "../../db/migrate";
import { jobs } from "../../db/schema";
import type { CardlyticsClient } from "../cardlytics/client.server";
import { recheckKind, RECHECK_KIND } from "../cardlytics/recheck-jobs.server";
import type { Config } from "../config/env.server";
import type { Logger } from "../ops/log.server";
import type { Metrics } from "../ops/metrics.server";
import { advanceBulkRuns, BULK_KIND } from "../reports/bulk-runs.server";
import { dispatchReports } from "../reports/check-reports.server";
import { pruneSessions } from "../staff/sessions.server";
import { pruneAuthFlows } from "../staff/auth-flows.server";
import { pruneWebhooks } from "../webhooks/maintenance.server";
import { rehandleKind, REHANDLE_KIND } from "../webhooks/rehandle-jobs.server";
import { JobRunner } from "./runner.server";

const DAY = 86_400_000;

export type ConsoleJobDeps = { db: Db; log: Logger; metrics?: Metrics; cardlytics: Pick<CardlyticsClient, "accountLink">; plaid: PlaidApi; config: Config; now?: () => Date };

/** Ended one-off jobs older than the retention period go, like the webhooks they re-ran. */
export function pruneJobs(db: Db, now: Date, retentionDays: number): number {
  return db
    .delete(jobs)
    .where(and(eq(jobs.recurring, false), notInArray(jobs.status, ["queued", "running"]), lt(jobs.updatedAt, new Date(now.getTime() - retentionDays * DAY))))
    .run().changes;
}

/**
 * The console's background work, every kind on the one runner: Cardlytics re-checks and webhook re-runs started by
 * staff; the Plaid Check dispatch (which also feeds the bulk runs into the queue), retention and session pruning and
 * the planner statistics on a schedule.
 */
export function consoleJobs(deps: ConsoleJobDeps): JobRunner {
  const now = deps.now ?? (() => new Date());
  const { db, config } = deps;
  const reportDeps = { db, plaid: deps.plaid, config, now };
  return new JobRunner({ db, log: deps.log, metrics: deps.metrics, now })
    .define(RECHECK_KIND, recheckKind({ db, cardlytics: deps.cardlytics, now }))
    .define(REHANDLE_KIND, rehandleKind({ db, now }))
    .driven(BULK_KIND)
    .every("check_dispatch", {
      everyMs: 2000,
      // Bulk runs feed the queue a bounded number at a time (their progress is in their lines, so a restart carries
      // on where it stopped); queued regenerations go out in order, within the per-minute cap.
      run: async () => {
        const queued = advanceBulkRuns(reportDeps);
        const sent = await dispatchReports(reportDeps);
        return { queued, sent };
      },
      worthLogging: (r) => Boolean(r.queued || r.sent),
    })
    .every("session_pruning", { everyMs: 10 * 60_000, atStart: true, run: (at) => ({ removed: pruneSessions(db, at, config.session), expiredSignInSteps: pruneAuthFlows(db, at) }), worthLogging: (r) => Boolean(r.removed || r.expiredSignInSteps) })
    .every("retention_pruning", {
      everyMs: 60 * 60_000,
      atStart: true,
      run: (at) => ({ ...pruneWebhooks(db, at, config.webhookRetentionDays), jobs: pruneJobs(db, at, config.webhookRetentionDays) }),
    })
    .every("planner_statistics", { everyMs: 60 * 60_000, run: () => (refreshPlannerStats(db), {}), worthLogging: () => false });
}
