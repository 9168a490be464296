import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/open";
import { jobs } from "../../db/schema";
import { PAUSED, type JobKind, type JobRunner } from "../jobs/runner.server";
import { recordAudit, type Actor } from "../staff/audit.server";
import { checkAccountLink, type AccountLinkDeps } from "./account-links.server";

export const MAX_BATCH = 500;
/** Customers checked at once within one job, so the vendor is not flooded. */
const CONCURRENCY = 4;
export const RECHECK_KIND = "cardlytics_recheck";

export type RecheckJob = { id: number; status: string; customerHashes: string[]; done: number; failed: number; error: string | null; createdAt: Date; startedAt: Date | null; finishedAt: Date | null };

/**
 * Re-checks a batch of customers against Cardlytics in the background. Each answer is stored as an ordinary check;
 * the job counts progress and failures. Not resumable: a job cut off by a restart is marked interrupted, and staff
 * start a new one from the page.
 */
export function recheckKind(deps: AccountLinkDeps): JobKind {
  return {
    concurrency: 2,
    resumable: false,
    run: async (ctx) => {
      const { customerHashes: hashes, staffUserId } = ctx.job.params as { customerHashes: string[]; staffUserId: number };
      let next = 0;
      let done = 0;
      let failed = 0;
      let cutOff = false;
      const worker = async () => {
        while (next < hashes.length) {
          if (ctx.stopping()) return void (cutOff = true);
          const customerHash = hashes[next++]!;
          let bad = false;
          try {
            const { result } = await checkAccountLink(deps, { customerHash, mockData: false, staffUserId });
            bad = result.outcome === "failed";
          } catch {
            bad = true; // the vendor unreachable or refusing: counted, and the next customer is tried
          }
          done++;
          if (bad) failed++;
          ctx.progress(done, { failed });
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, hashes.length) }, worker));
      return cutOff ? PAUSED : { checked: done - failed, failed };
    },
  };
}

export function startRecheckJob(
  deps: { db: Db; jobs: JobRunner; now: () => Date },
  input: { customerHashes: string[]; actor: NonNullable<Actor>; clientAddress: string },
): { jobId: number; finished: Promise<unknown> } {
  const hashes = [...new Set(input.customerHashes)].slice(0, MAX_BATCH);
  const job = deps.jobs.enqueue(RECHECK_KIND, { customerHashes: hashes, staffUserId: input.actor.id }, { createdBy: input.actor.id, total: hashes.length });
  recordAudit(deps.db, { actor: input.actor, action: "cardlytics.recheck_batch", targetType: "recheck_job", targetId: job.id, clientAddress: input.clientAddress, details: { customers: hashes.length }, at: deps.now() });
  return { jobId: job.id, finished: deps.jobs.settled(job.id) };
}

export function getRecheckJob(db: Db, id: number): RecheckJob | undefined {
  const job = db.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.kind, RECHECK_KIND))).get();
  if (!job) return undefined;
  const params = job.params as { customerHashes: string[] };
  const result = (job.result ?? {}) as { failed?: number };
  return { id: job.id, status: job.status, customerHashes: params.customerHashes, done: job.progressDone, failed: result.failed ?? 0, error: job.error, createdAt: job.createdAt, startedAt: job.startedAt, finishedAt: job.finishedAt };
}
