import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/open";
import { jobs } from "../../db/schema";
import { nextTurn, PAUSED, type JobKind, type JobRunner } from "../jobs/runner.server";
import { actorOf, recordAudit, type Actor } from "../staff/audit.server";
import { rehandleEvent } from "./receive.server";

export const REHANDLE_KIND = "webhook_rehandle";
export type RehandleDeps = { db: Db; now: () => Date };
export type RehandleJob = { id: number; status: string; eventIds: number[]; filter: Record<string, string>; done: number; stillFailing: number; error: string | null; createdAt: Date; startedAt: Date | null; finishedAt: Date | null };
type Params = { eventIds: number[]; filter: Record<string, string>; clientAddress: string };

/** How long one slice of the job may hold the event loop: the receiver keeps answering Plaid in between. */
const SLICE_MS = 20;

/**
 * Re-runs the handler of each failed event, a slice at a time. A slice's events and the job's progress are written in
 * one transaction (each event in its own savepoint), so after a crash the job carries on exactly where its last slice
 * ended: no event is re-run twice by one job, none skipped.
 */
export function rehandleKind(deps: RehandleDeps): JobKind {
  return {
    concurrency: 1,
    resumable: true,
    run: async (ctx) => {
      const { eventIds, clientAddress } = ctx.job.params as Params;
      let done = ctx.job.progressDone;
      let stillFailing = Number((ctx.job.result as { stillFailing?: number } | null)?.stillFailing ?? 0);
      while (done < eventIds.length) {
        await nextTurn();
        if (ctx.stopping()) return PAUSED;
        const sliceEnds = performance.now() + SLICE_MS;
        deps.db.transaction(() => {
          const from = done;
          while (done < eventIds.length && (done === from || performance.now() < sliceEnds)) {
            let failed: boolean;
            try {
              failed = rehandleEvent(deps.db, eventIds[done]!, deps.now()).handlingStatus === "failed";
            } catch {
              failed = true; // the event was pruned meanwhile, or its delivery is gone
            }
            if (failed) stillFailing++;
            done++;
          }
          ctx.progress(done, { stillFailing });
        });
      }
      const result = { events: eventIds.length, ranCleanly: eventIds.length - stillFailing, stillFailing };
      recordAudit(deps.db, { actor: actorOf(deps.db, ctx.job.createdBy), action: "webhook.rehandle_finished", targetType: "webhook_rehandle_job", targetId: ctx.job.id, clientAddress, details: result, at: deps.now() });
      return result;
    },
  };
}

export function startRehandleJob(
  deps: { db: Db; jobs: JobRunner; now: () => Date },
  input: { eventIds: number[]; filter: Record<string, string>; actor: NonNullable<Actor>; clientAddress: string },
): { jobId: number; finished: Promise<unknown> } {
  const eventIds = [...new Set(input.eventIds)];
  const params: Params = { eventIds, filter: input.filter, clientAddress: input.clientAddress };
  const job = deps.jobs.enqueue(REHANDLE_KIND, params, { createdBy: input.actor.id, total: eventIds.length });
  recordAudit(deps.db, { actor: input.actor, action: "webhook.rehandle_failed", targetType: "webhook_rehandle_job", targetId: job.id, clientAddress: input.clientAddress, details: { events: eventIds.length, filter: input.filter }, at: deps.now() });
  return { jobId: job.id, finished: deps.jobs.settled(job.id) };
}

export function getRehandleJob(db: Db, id: number): RehandleJob | undefined {
  const job = db.select().from(jobs).where(and(eq(jobs.id, id), eq(jobs.kind, REHANDLE_KIND))).get();
  if (!job) return undefined;
  const params = job.params as Params;
  const result = (job.result ?? {}) as { stillFailing?: number };
  return { id: job.id, status: job.status, eventIds: params.eventIds, filter: params.filter, done: job.progressDone, stillFailing: result.stillFailing ?? 0, error: job.error, createdAt: job.createdAt, startedAt: job.startedAt, finishedAt: job.finishedAt };
}
