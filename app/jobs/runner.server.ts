import { and, asc, eq, inArray, notInArray, sql } from "drizzle-orm";
import type { Db } from "../../db/open";
import { jobs } from "../../db/schema";
import type { Logger } from "../ops/log.server";
import type { Metrics } from "../ops/metrics.server";

export type Job = typeof jobs.$inferSelect;
export type JobResult = Record<string, unknown>;

/** What a handler returns when the runner is stopping and it has left off at a safe point. */
export const PAUSED = Symbol("paused");

export type JobContext = {
  job: Job;
  /** Records progress and the counts so far on the job's row: what its page shows while it runs. */
  progress: (done: number, partial?: JobResult) => void;
  /** True once the runner is stopping: a job returns PAUSED at its next safe point. */
  stopping: () => boolean;
  now: () => Date;
};

export type JobKind = {
  /** At most this many jobs of the kind run at once; the others wait, queued, in the order they were started. */
  concurrency: number;
  /**
   * Whether a job found running at start-up carries on from its recorded progress (and a paused one at the next
   * start); otherwise it is marked interrupted.
   */
  resumable: boolean;
  run: (ctx: JobContext) => Promise<JobResult | typeof PAUSED> | JobResult | typeof PAUSED;
};

export type RecurringKind = {
  everyMs: number;
  /** Also runs once when the runner starts. */
  atStart?: boolean;
  run: (now: Date) => Promise<JobResult> | JobResult;
  /** Whether a successful run is worth an info line (a dispatch tick that sent nothing is not). */
  worthLogging?: (result: JobResult) => boolean;
};

export type RunnerDeps = { db: Db; log: Logger; metrics?: Metrics; now?: () => Date };

/** Resolves on a later turn of the event loop, so what waits for it lets requests and webhooks run first. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function errorText(error: unknown): string {
  if (error instanceof Response) return `${error.status} ${error.statusText}`.trim();
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/**
 * The one runner of background work. Jobs live in the `jobs` table: started (`enqueue`) they are queued, then claimed
 * a bounded number at a time per kind; a handler's progress and result are written to its row. Every handler call is
 * wrapped: whatever it throws or rejects with (a busy database, a vendor failing) marks its job failed with the error
 * and is logged, and nothing escapes as an unhandled rejection. Recurring kinds keep one row each, which every run
 * overwrites with its outcome.
 */
export class JobRunner {
  private readonly kinds = new Map<string, JobKind>();
  private readonly recurring = new Map<string, RecurringKind>();
  private readonly drivenKinds = new Set<string>();
  private readonly active = new Map<string, number>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly waiters = new Map<number, ((job: Job | undefined) => void)[]>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private recovered: { resumed: number; interrupted: number } | null = null;
  private readonly now: () => Date;

  constructor(private readonly deps: RunnerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  define(kind: string, def: JobKind): this {
    if (def.concurrency < 1) throw new Error(`${kind}: the concurrency is at least 1`);
    this.kinds.set(kind, def);
    return this;
  }

  /**
   * A kind whose rows have no handler: a recurring kind works them and writes their progress (the Plaid Check bulk
   * runs, fed to the queue by the dispatch). A restart leaves them running, for that kind to carry on.
   */
  driven(kind: string): this {
    this.drivenKinds.add(kind);
    return this;
  }

  every(kind: string, def: RecurringKind): this {
    this.recurring.set(kind, def);
    return this;
  }

  /** Records a job, queued, and starts it if its kind has room. */
  enqueue(kind: string, params: Record<string, unknown>, options: { createdBy?: number | null; total?: number | null } = {}): Job {
    if (!this.kinds.has(kind)) throw new Error(`No job kind ${kind}`);
    const now = this.now();
    const job = this.deps.db
      .insert(jobs)
      .values({ kind, status: "queued", params, progressTotal: options.total ?? null, createdBy: options.createdBy ?? null, createdAt: now, updatedAt: now })
      .returning()
      .get();
    this.pump(kind);
    return job;
  }

  /** Resolves once the job has ended in this process (finished, failed, interrupted or paused), with its row. */
  settled(id: number): Promise<Job | undefined> {
    const row = this.get(id);
    if (!row || !["queued", "running"].includes(row.status) || (row.status === "running" && !this.inFlight.has(`job:${id}`))) return Promise.resolve(row);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  get(id: number): Job | undefined {
    return this.deps.db.select().from(jobs).where(eq(jobs.id, id)).get();
  }

  /** How many jobs of a kind run in this process now. */
  running(kind: string): number {
    return this.active.get(kind) ?? 0;
  }

  /**
   * At start-up: what was running when the process stopped is queued again when its kind can carry on from its
   * progress, otherwise marked interrupted. Recurring rows left running are marked interrupted (they run again on
   * schedule).
   */
  recover(): { resumed: number; interrupted: number } {
    const now = this.now();
    const resumable = [...this.kinds].filter(([, d]) => d.resumable).map(([k]) => k);
    return this.deps.db.transaction((tx) => {
      const resumed = resumable.length
        ? tx.update(jobs).set({ status: "queued", updatedAt: now }).where(and(eq(jobs.status, "running"), eq(jobs.recurring, false), inArray(jobs.kind, resumable))).run().changes
        : 0;
      const interrupted = tx
        .update(jobs)
        .set({ status: "interrupted", finishedAt: now, updatedAt: now, error: "The console stopped while this job ran." })
        .where(and(eq(jobs.status, "running"), notInArray(jobs.kind, [...this.drivenKinds])))
        .run().changes;
      return (this.recovered = { resumed, interrupted });
    });
  }

  /** Claims what is queued, for every kind that has room. */
  claimQueued(): void {
    for (const kind of this.kinds.keys()) this.pump(kind);
  }

  /** Recovers, starts what is queued, and schedules the recurring kinds. */
  start(): { resumed: number; interrupted: number } {
    this.stopping = false;
    const recovered = this.recovered ?? this.recover();
    if (recovered.resumed || recovered.interrupted) this.deps.log.info({ component: "jobs", ...recovered }, "background jobs recovered after a restart");
    this.claimQueued();
    for (const [kind, def] of this.recurring) {
      if (def.atStart) void this.runRecurring(kind);
      const timer = setInterval(() => void this.runRecurring(kind), def.everyMs);
      timer.unref();
      this.timers.push(timer);
    }
    return recovered;
  }

  /**
   * Stops: nothing new is claimed or scheduled, running handlers are told to stop at their next safe point, and
   * this waits for them up to the deadline. Returns what was still running then.
   */
  async stop(deadlineMs: number): Promise<{ cutOff: string[] }> {
    this.stopping = true;
    for (const t of this.timers.splice(0)) clearInterval(t);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadlineMs))));
    await Promise.race([Promise.allSettled([...this.inFlight.values()]), expired]);
    clearTimeout(timer);
    return { cutOff: [...this.inFlight.keys()] };
  }

  /** Runs a recurring kind now, unless a run of it is still going. Never rejects. */
  runRecurring(kind: string): Promise<void> {
    const def = this.recurring.get(kind);
    const key = `every:${kind}`;
    if (!def || this.stopping) return Promise.resolve();
    const going = this.inFlight.get(key);
    if (going) return going;
    const startedAt = this.now();
    const log = this.deps.log.child({ component: "jobs", job: kind });
    const p = Promise.resolve()
      .then(() => def.run(startedAt))
      .then(
        (result) => {
          this.recordRecurring(kind, { status: "finished", result, error: null }, startedAt);
          this.deps.metrics?.jobs.inc({ kind, outcome: "ok" });
          if (def.worthLogging?.(result) ?? true) log.info({ result }, `${kind} ran`);
        },
        (error: unknown) => {
          this.deps.metrics?.jobs.inc({ kind, outcome: "error" });
          log.error({ err: error }, `${kind} failed; it runs again at its next turn`);
          this.recordRecurring(kind, { status: "failed", result: null, error: errorText(error) }, startedAt);
        },
      )
      .catch((error: unknown) => log.error({ err: error }, `${kind}: its outcome could not be recorded`))
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private recordRecurring(kind: string, outcome: { status: "finished" | "failed"; result: JobResult | null; error: string | null }, startedAt: Date): void {
    const now = this.now();
    this.deps.db
      .insert(jobs)
      .values({ kind, recurring: true, status: outcome.status, params: {}, result: outcome.result, error: outcome.error, attempts: 1, createdAt: startedAt, startedAt, updatedAt: now, finishedAt: now })
      .onConflictDoUpdate({
        target: jobs.kind,
        targetWhere: sql`${jobs.recurring} = 1`,
        set: { status: outcome.status, result: outcome.result, error: outcome.error, attempts: sql`${jobs.attempts} + 1`, startedAt, updatedAt: now, finishedAt: now },
      })
      .run();
  }

  /** Claims queued jobs of a kind while it has room. Never throws: a failed claim is logged and tried at the next. */
  private pump(kind: string): void {
    const def = this.kinds.get(kind);
    if (!def || this.stopping) return;
    try {
      while (this.running(kind) < def.concurrency) {
        const now = this.now();
        const claimed = this.deps.db
          .update(jobs)
          .set({ status: "running", attempts: sql`${jobs.attempts} + 1`, startedAt: sql`coalesce(${jobs.startedAt}, ${now.getTime()})`, updatedAt: now })
          .where(
            and(
              eq(jobs.status, "queued"),
              eq(
                jobs.id,
                this.deps.db
                  .select({ id: jobs.id })
                  .from(jobs)
                  .where(and(eq(jobs.kind, kind), eq(jobs.status, "queued")))
                  .orderBy(asc(jobs.id))
                  .limit(1),
              ),
            ),
          )
          .returning()
          .get();
        if (!claimed) return;
        this.launch(def, claimed);
      }
    } catch (error) {
      this.deps.log.error({ err: error, component: "jobs", job: kind }, "could not claim a queued job; it is claimed when the next one ends or at start-up");
    }
  }

  private launch(def: JobKind, job: Job): void {
    const key = `job:${job.id}`;
    const log = this.deps.log.child({ component: "jobs", job: job.kind, jobId: job.id });
    this.active.set(job.kind, this.running(job.kind) + 1);
    const db = this.deps.db;
    const ctx: JobContext = {
      job,
      now: this.now,
      stopping: () => this.stopping,
      progress: (done, partial) => {
        db.update(jobs)
          .set({ progressDone: done, ...(partial ? { result: partial } : {}), updatedAt: this.now() })
          .where(eq(jobs.id, job.id))
          .run();
      },
    };
    // The handler runs on a later turn of the event loop: starting a job never runs it inside the request.
    const p = nextTurn()
      .then(() => def.run(ctx))
      .then(
        (result) => {
          const now = this.now();
          if (result === PAUSED) {
            const status = def.resumable ? "queued" : "interrupted";
            db.update(jobs)
              .set({ status, updatedAt: now, ...(def.resumable ? {} : { finishedAt: now, error: "The console stopped while this job ran." }) })
              .where(and(eq(jobs.id, job.id), eq(jobs.status, "running")))
              .run();
            log.info({ status }, def.resumable ? "job paused by the shutdown; it carries on at the next start" : "job cut off by the shutdown");
            return;
          }
          db.update(jobs).set({ status: "finished", result, error: null, updatedAt: now, finishedAt: now }).where(eq(jobs.id, job.id)).run();
          this.deps.metrics?.jobs.inc({ kind: job.kind, outcome: "ok" });
          log.info({ result }, "job finished");
        },
        (error: unknown) => {
          this.deps.metrics?.jobs.inc({ kind: job.kind, outcome: "error" });
          log.error({ err: error }, "job failed");
          const now = this.now();
          db.update(jobs).set({ status: "failed", error: errorText(error), updatedAt: now, finishedAt: now }).where(eq(jobs.id, job.id)).run();
        },
      )
      .catch((error: unknown) => log.error({ err: error }, "the job's outcome could not be recorded; it is recovered at the next start"))
      .finally(() => {
        this.inFlight.delete(key);
        this.active.set(job.kind, this.running(job.kind) - 1);
        const waiting = this.waiters.get(job.id);
        this.waiters.delete(job.id);
        let row: Job | undefined;
        try {
          row = waiting ? this.get(job.id) : undefined;
        } catch {
          row = undefined;
        }
        for (const w of waiting ?? []) w(row);
        this.pump(job.kind);
      });
    this.inFlight.set(key, p);
  }
}
