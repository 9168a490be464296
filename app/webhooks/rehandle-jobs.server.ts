import { eq } from "drizzle-orm";
import type { Db } from "../../db/open";
import { webhookRehandleJobs } from "../../db/schema";
import { recordAudit, type Actor } from "../staff/audit.server";
import { rehandleEvent } from "./receive.server";

export type RehandleJob = typeof webhookRehandleJobs.$inferSelect;
export type RehandleDeps = { db: Db; now: () => Date };

/** How long one slice of the job may hold the event loop: the receiver keeps answering Plaid in between. */
const SLICE_MS = 20;

/**
 * Re-runs the handler of each failed event in the background, a slice at a time, each event in its own transaction.
 * The job row counts progress; each event carries its own new outcome.
 */
export function startRehandleJob(
  deps: RehandleDeps,
  input: { eventIds: number[]; filter: Record<string, string>; actor: NonNullable<Actor>; clientAddress: string },
): { jobId: number; finished: Promise<void> } {
  const eventIds = [...new Set(input.eventIds)];
  const now = deps.now();
  const { id } = deps.db
    .insert(webhookRehandleJobs)
    .values({ createdAt: now, createdBy: input.actor.id, filter: input.filter, eventIds, status: "running" })
    .returning({ id: webhookRehandleJobs.id })
    .get();
  recordAudit(deps.db, { actor: input.actor, action: "webhook.rehandle_failed", targetType: "webhook_rehandle_job", targetId: id, clientAddress: input.clientAddress, details: { events: eventIds.length, filter: input.filter }, at: now });
  return { jobId: id, finished: run(deps, id, eventIds, input) };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(deps: RehandleDeps, jobId: number, eventIds: number[], input: { actor: NonNullable<Actor>; clientAddress: string }): Promise<void> {
  let done = 0;
  let stillFailing = 0;
  while (done < eventIds.length) {
    await nextTurn();
    const sliceEnds = performance.now() + SLICE_MS;
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
    deps.db.update(webhookRehandleJobs).set({ done, stillFailing }).where(eq(webhookRehandleJobs.id, jobId)).run();
  }
  const at = deps.now();
  deps.db.update(webhookRehandleJobs).set({ status: "finished", finishedAt: at }).where(eq(webhookRehandleJobs.id, jobId)).run();
  recordAudit(deps.db, { actor: input.actor, action: "webhook.rehandle_finished", targetType: "webhook_rehandle_job", targetId: jobId, clientAddress: input.clientAddress, details: { events: eventIds.length, ranCleanly: eventIds.length - stillFailing, stillFailing }, at });
}

export function getRehandleJob(db: Db, id: number): RehandleJob | undefined {
  return db.select().from(webhookRehandleJobs).where(eq(webhookRehandleJobs.id, id)).get();
}

/** At start-up: a job that was running when the process stopped will not finish; say so instead of showing it stuck. */
export function markInterruptedRehandleJobs(db: Db, now: Date): number {
  return db.update(webhookRehandleJobs).set({ status: "interrupted", finishedAt: now }).where(eq(webhookRehandleJobs.status, "running")).run().changes;
}
