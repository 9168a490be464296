import { and, desc, eq, lt } from "drizzle-orm";
import type { Db } from "../../db/open";
import { JOB_STATUSES, jobs, staffUsers, type JobStatus } from "../../db/schema";

export const JOB_KIND_LABELS: Record<string, string> = {
  cardlytics_recheck: "Cardlytics re-check",
  webhook_rehandle: "Webhook re-run",
  cra_bulk_run: "Plaid Check bulk regeneration",
  check_dispatch: "Plaid Check dispatch",
  retention_pruning: "Retention pruning",
  session_pruning: "Session pruning",
  planner_statistics: "Query planner statistics",
};

export type JobFilter = { kind?: string; status?: JobStatus; before?: number };

export function parseJobFilter(params: URLSearchParams): JobFilter {
  const kind = params.get("kind") ?? "";
  const status = params.get("status") ?? "";
  const before = Number(params.get("before"));
  return {
    kind: kind in JOB_KIND_LABELS ? kind : undefined,
    status: (JOB_STATUSES as readonly string[]).includes(status) ? (status as JobStatus) : undefined,
    before: Number.isSafeInteger(before) && before > 0 ? before : undefined,
  };
}

/** Where a job's own page shows it, with its details. */
function pageOf(job: typeof jobs.$inferSelect): string | null {
  const p = job.params as Record<string, unknown>;
  if (job.kind === "cardlytics_recheck") return `/customers/expiring?job=${job.id}`;
  if (job.kind === "webhook_rehandle") return `/webhooks?${new URLSearchParams({ ...((p.filter as Record<string, string>) ?? {}), job: String(job.id) })}`;
  if (job.kind === "cra_bulk_run") return `/reports/bulk/${Number(p.runId)}`;
  return null;
}

/** Staff-started and driven jobs, newest first, a page at a time. */
export function listJobs(db: Db, f: JobFilter, limit = 50) {
  const rows = db
    .select({ job: jobs, createdByEmail: staffUsers.email })
    .from(jobs)
    .leftJoin(staffUsers, eq(staffUsers.id, jobs.createdBy))
    .where(and(eq(jobs.recurring, false), f.kind ? eq(jobs.kind, f.kind) : undefined, f.status ? eq(jobs.status, f.status) : undefined, f.before ? lt(jobs.id, f.before) : undefined))
    .orderBy(desc(jobs.id))
    .limit(limit + 1)
    .all();
  return {
    rows: rows.slice(0, limit).map(({ job, createdByEmail }) => ({ ...job, createdByEmail, page: pageOf(job) })),
    nextBefore: rows.length > limit ? rows[limit - 1]!.job.id : null,
  };
}

/** The recurring kinds, each with its last run. */
export function recurringJobs(db: Db) {
  return db.select().from(jobs).where(eq(jobs.recurring, true)).orderBy(jobs.kind).all();
}
