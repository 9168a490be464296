import { eq, sql } from "drizzle-orm";
import type { Db } from "../../db/open";
import { recheckJobs } from "../../db/schema";
import { recordAudit, type Actor } from "../staff/audit.server";
import { checkAccountLink, type AccountLinkDeps } from "./account-links.server";

export const MAX_BATCH = 500;
const CONCURRENCY = 4;

export type RecheckJob = typeof recheckJobs.$inferSelect;

/**
 * Re-checks a batch of customers against Cardlytics in the background, a few at a time so the vendor is not
 * flooded. Each answer is stored as an ordinary check; the job row only counts progress.
 */
export function startRecheckJob(
  deps: AccountLinkDeps,
  input: { customerHashes: string[]; actor: NonNullable<Actor>; clientAddress: string },
): { jobId: number; finished: Promise<void> } {
  const hashes = [...new Set(input.customerHashes)].slice(0, MAX_BATCH);
  const now = deps.now();
  const { id } = deps.db
    .insert(recheckJobs)
    .values({ createdAt: now, createdBy: input.actor.id, customerHashes: hashes, status: "running" })
    .returning({ id: recheckJobs.id })
    .get();
  recordAudit(deps.db, { actor: input.actor, action: "cardlytics.recheck_batch", targetType: "recheck_job", targetId: id, clientAddress: input.clientAddress, details: { customers: hashes.length }, at: now });
  return { jobId: id, finished: run(deps, id, hashes, input.actor.id) };
}

async function run(deps: AccountLinkDeps, jobId: number, hashes: string[], staffUserId: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < hashes.length) {
      const customerHash = hashes[next++]!;
      let failed = false;
      try {
        const { result } = await checkAccountLink(deps, { customerHash, mockData: false, staffUserId });
        failed = result.outcome === "failed";
      } catch {
        failed = true;
      }
      deps.db
        .update(recheckJobs)
        .set({ done: sql`${recheckJobs.done} + 1`, failed: sql`${recheckJobs.failed} + ${failed ? 1 : 0}` })
        .where(eq(recheckJobs.id, jobId))
        .run();
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, hashes.length) }, worker));
  deps.db.update(recheckJobs).set({ status: "finished", finishedAt: deps.now() }).where(eq(recheckJobs.id, jobId)).run();
}

export function getRecheckJob(db: Db, id: number): RecheckJob | undefined {
  return db.select().from(recheckJobs).where(eq(recheckJobs.id, id)).get();
}

/** At start-up: a job that was running when the process stopped will not finish; say so instead of showing it stuck. */
export function markInterruptedJobs(db: Db, now: Date): number {
  return db.update(recheckJobs).set({ status: "interrupted", finishedAt: now }).where(eq(recheckJobs.status, "running")).run().changes;
}
