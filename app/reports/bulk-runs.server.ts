import { and, asc, count, desc, eq, gt, inArray, lt, or, sql } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { craBulkRows, craBulkRuns, craReports, jobs, staffUsers } from "../../db/schema";
import { actorOf, recordAudit, type Actor } from "../staff/audit.server";
import { enqueueReport, ReportRuleError, type ReportDeps } from "./check-reports.server";
import { MAX_BULK_ROWS, type BulkOutcome } from "./report-states";

type Ctx = { actor: NonNullable<Actor>; clientAddress: string };

/**
 * A bulk run's row in the jobs table. Its lines are decided by the Check dispatch (a recurring job), bounded by the
 * reports in flight, so the row has no handler of its own: each dispatch step that decides lines of a run writes the
 * run's progress (lines decided) and result (lines per outcome) here, in the same transaction.
 */
export const BULK_KIND = "cra_bulk_run";

function syncBulkJob(tx: Queryable, runId: number, now: Date, ended?: "finished" | "cancelled"): void {
  const rows = tx.select({ outcome: craBulkRows.outcome, n: count() }).from(craBulkRows).where(eq(craBulkRows.runId, runId)).groupBy(craBulkRows.outcome).all();
  const byOutcome = Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
  const decided = rows.filter((r) => r.outcome !== "waiting").reduce((n, r) => n + r.n, 0);
  tx.update(jobs)
    .set({ progressDone: decided, result: byOutcome, updatedAt: now, ...(ended ? { status: ended, finishedAt: now } : {}) })
    .where(and(eq(jobs.kind, BULK_KIND), sql`json_extract(${jobs.params}, '$.runId') = ${runId}`, inArray(jobs.status, ["queued", "running"])))
    .run();
}

export type BulkRun = typeof craBulkRuns.$inferSelect;

type ParsedLine = { position: number; input: string; customerHash: string | null; outcome: "waiting" | "invalid" | "duplicate"; message: string | null };

/**
 * Reads a pasted or uploaded list: one customer hash per line, the first field of a CSV line, quotes allowed. A
 * header line is skipped; a line that is not a hash, or repeats an earlier one, is kept with its reason so the
 * results account for every line.
 */
export function parseHashList(text: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((line, index) => {
    const field = (line.split(/[,;\t ]/).find((f) => f.trim() !== "") ?? "").trim().replace(/^["']|["']$/g, "");
    if (!field) return;
    const hash = field.toLowerCase();
    const valid = /^[0-9a-f]{64}$/.test(hash);
    if (!valid && out.length === 0 && /hash|customer|id/i.test(field)) return; // a header
    const position = index + 1;
    const input = field.slice(0, 200);
    if (!valid) return out.push({ position, input, customerHash: null, outcome: "invalid", message: "Not a customer hash: a hash is 64 hex characters" });
    const earlier = firstLine.get(hash);
    if (earlier !== undefined) return out.push({ position, input, customerHash: hash, outcome: "duplicate", message: `Listed already on line ${earlier}` });
    firstLine.set(hash, position);
    out.push({ position, input, customerHash: hash, outcome: "waiting", message: null });
  });
  return out;
}

export type BulkRequest = { list: string; reason: string; purpose: string; daysRequested: number; products: string[] };

/** Records the run and every line of it at once; the rows are worked through by `advanceBulkRuns`. */
export function createBulkRun(deps: ReportDeps, input: BulkRequest, ctx: Ctx): { run: BulkRun; lines: ParsedLine[] } {
  const lines = parseHashList(input.list);
  if (lines.length > MAX_BULK_ROWS) throw new ReportRuleError(`A bulk run takes at most ${MAX_BULK_ROWS} lines; this list has ${lines.length}. Split it.`);
  if (!lines.some((l) => l.outcome === "waiting")) throw new ReportRuleError("The list holds no customer hash (64 hex characters, one per line).");
  const now = deps.now();
  const run = deps.db.transaction((tx) => {
    const run = tx
      .insert(craBulkRuns)
      .values({ createdBy: ctx.actor.id, createdAt: now, reason: input.reason, purpose: input.purpose, daysRequested: input.daysRequested, products: input.products, total: lines.length, status: "running" })
      .returning()
      .get();
    for (const l of lines) {
      tx.insert(craBulkRows)
        .values({ runId: run.id, position: l.position, input: l.input, customerHash: l.customerHash, outcome: l.outcome, message: l.message, processedAt: l.outcome === "waiting" ? null : now })
        .run();
    }
    tx.insert(jobs).values({ kind: BULK_KIND, status: "running", params: { runId: run.id }, progressTotal: lines.length, attempts: 1, createdBy: ctx.actor.id, createdAt: now, startedAt: now, updatedAt: now }).run();
    syncBulkJob(tx, run.id, now);
    recordAudit(tx, { actor: ctx.actor, action: "cra.bulk_start", targetType: "cra_bulk_run", targetId: run.id, clientAddress: ctx.clientAddress, details: { lines: lines.length, hashes: lines.filter((l) => l.outcome === "waiting").length, reason: input.reason, purpose: input.purpose, daysRequested: input.daysRequested, products: input.products }, at: now });
    return run;
  });
  return { run, lines };
}

/** Bulk reports that still hold a slot: queued here, or sent and awaiting Plaid's webhook (until flagged as stuck). */
function bulkReportsInFlight(db: Queryable, now: Date, webhookTimeoutMs: number): number {
  const stuckBefore = new Date(now.getTime() - webhookTimeoutMs);
  return (
    db
      .select({ n: count() })
      .from(craBulkRows)
      .innerJoin(craReports, eq(craReports.id, craBulkRows.reportId))
      .where(or(eq(craReports.status, "queued"), and(eq(craReports.status, "pending"), gt(craReports.sentAt, stuckBefore))))
      .get()?.n ?? 0
  );
}

/**
 * Works the running bulk runs, oldest first, keeping at most `bulkConcurrency` of their reports in flight. A call is
 * one transaction, so each line's claim and its queued report are written together (after a crash a line is either
 * untouched or queued, never both nor twice) and the call costs one sync to disk, not one per line. Sending is left
 * to the queue, which marks a request sent before sending it.
 */
export function advanceBulkRuns(deps: ReportDeps, maxLines = 500): number {
  const now = deps.now();
  return deps.db.transaction((tx) => {
    let budget = maxLines; // lines decided per call, so one tick never holds the event loop for long
    let room = deps.config.cra.bulkConcurrency - bulkReportsInFlight(tx, now, deps.config.cra.webhookTimeoutMs);
    let queued = 0;
    const runs = tx.select().from(craBulkRuns).where(eq(craBulkRuns.status, "running")).orderBy(asc(craBulkRuns.id)).all();
    const touched = new Set<number>();
    const sync = () => {
      for (const id of touched) syncBulkJob(tx, id, now);
      return queued;
    };
    for (const run of runs) {
      const actor = actorOf(tx, run.createdBy);
      for (;;) {
        if (room <= 0 || budget-- <= 0) return sync();
        const row = tx.select().from(craBulkRows).where(and(eq(craBulkRows.runId, run.id), eq(craBulkRows.outcome, "waiting"))).orderBy(asc(craBulkRows.position)).get();
        if (!row) {
          tx.update(craBulkRuns).set({ status: "finished", finishedAt: now }).where(and(eq(craBulkRuns.id, run.id), eq(craBulkRuns.status, "running"))).run();
          touched.delete(run.id);
          syncBulkJob(tx, run.id, now, "finished");
          break;
        }
        touched.add(run.id);
        // The claim comes first and takes the write lock: a second console on the same database finds it gone.
        if (!tx.update(craBulkRows).set({ processedAt: now }).where(and(eq(craBulkRows.id, row.id), eq(craBulkRows.outcome, "waiting"))).run().changes) continue;
        const result = enqueueReport(tx, { customerHash: row.customerHash!, reason: run.reason, purpose: run.purpose, daysRequested: run.daysRequested, products: run.products, requestedBy: run.createdBy }, now, deps.config.cra.cooldownMs);
        if ("refused" in result) {
          const message = result.refused === "no_user" ? "No Plaid Check user: create one on the customer's Plaid Check page" : `Skipped (cooldown): ${result.message}`;
          tx.update(craBulkRows).set({ outcome: result.refused, message }).where(eq(craBulkRows.id, row.id)).run();
          continue;
        }
        tx.update(craBulkRows).set({ outcome: "queued", reportId: result.report.id, message: `Queued as report #${result.report.id}` }).where(eq(craBulkRows.id, row.id)).run();
        recordAudit(tx, { actor, action: "cra.report_request", targetType: "cra_report", targetId: result.report.id, customerHash: row.customerHash!, details: { bulkRunId: run.id, line: row.position, reason: run.reason, purpose: run.purpose, daysRequested: run.daysRequested, products: run.products }, at: now });
        room--;
        queued++;
      }
    }
    return sync();
  });
}

/** Stops a run: lines not yet queued are cancelled; reports already queued still go to Plaid. */
export function cancelBulkRun(deps: ReportDeps, runId: number, ctx: Ctx): number {
  const now = deps.now();
  return deps.db.transaction((tx) => {
    const stopped = tx.update(craBulkRuns).set({ status: "cancelled", finishedAt: now, cancelledBy: ctx.actor.id }).where(and(eq(craBulkRuns.id, runId), eq(craBulkRuns.status, "running"))).run().changes;
    if (!stopped) throw new ReportRuleError("This run is not running any more.");
    const cancelled = tx.update(craBulkRows).set({ outcome: "cancelled", message: "Cancelled before it was queued", processedAt: now }).where(and(eq(craBulkRows.runId, runId), eq(craBulkRows.outcome, "waiting"))).run().changes;
    syncBulkJob(tx, runId, now, "cancelled");
    recordAudit(tx, { actor: ctx.actor, action: "cra.bulk_cancel", targetType: "cra_bulk_run", targetId: runId, clientAddress: ctx.clientAddress, details: { cancelledLines: cancelled }, at: now });
    return cancelled;
  });
}

export function getBulkRun(db: Db, id: number) {
  return db.select({ run: craBulkRuns, createdByEmail: staffUsers.email }).from(craBulkRuns).leftJoin(staffUsers, eq(staffUsers.id, craBulkRuns.createdBy)).where(eq(craBulkRuns.id, id)).get();
}

export function listBulkRuns(db: Db, before: number | undefined, limit = 20) {
  const rows = db
    .select({ run: craBulkRuns, createdByEmail: staffUsers.email })
    .from(craBulkRuns)
    .leftJoin(staffUsers, eq(staffUsers.id, craBulkRuns.createdBy))
    .where(before ? lt(craBulkRuns.id, before) : undefined)
    .orderBy(desc(craBulkRuns.id))
    .limit(limit + 1)
    .all();
  return { rows: rows.slice(0, limit), nextBefore: rows.length > limit ? rows[limit - 1]!.run.id : null };
}

/** Every line's outcome and, for the queued ones, where their report stands: the progress of a run. */
export function bulkRunLines(db: Db, runId: number) {
  return db
    .select({
      id: craBulkRows.id,
      position: craBulkRows.position,
      input: craBulkRows.input,
      customerHash: craBulkRows.customerHash,
      outcome: craBulkRows.outcome,
      message: craBulkRows.message,
      reportId: craBulkRows.reportId,
      status: craReports.status,
      sentAt: craReports.sentAt,
      completedAt: craReports.completedAt,
      probeCode: craReports.probeCode,
      errorCode: craReports.errorCode,
    })
    .from(craBulkRows)
    .leftJoin(craReports, eq(craReports.id, craBulkRows.reportId))
    .where(eq(craBulkRows.runId, runId))
    .orderBy(asc(craBulkRows.position))
    .all();
}

/** Lines per outcome for each of the given runs: the progress column of the runs list. */
export function bulkRunCounts(db: Db, runIds: number[]): Record<number, Partial<Record<BulkOutcome, number>>> {
  const out: Record<number, Partial<Record<BulkOutcome, number>>> = {};
  if (!runIds.length) return out;
  const rows = db.select({ runId: craBulkRows.runId, outcome: craBulkRows.outcome, n: count() }).from(craBulkRows).where(inArray(craBulkRows.runId, runIds)).groupBy(craBulkRows.runId, craBulkRows.outcome).all();
  for (const r of rows) (out[r.runId] ??= {})[r.outcome] = r.n;
  return out;
}
