import { copyFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobRunner, PAUSED, type JobContext } from "../../app/jobs/runner.server";
import { createLogger } from "../../app/ops/log.server";
import { Metrics } from "../../app/ops/metrics.server";
import { migrationsFolder, runMigrations } from "../../db/migrate";
import { openDatabase, type Db } from "../../db/open";
import { jobs } from "../../db/schema";
import { freshDb } from "../support/db";
import { createHarness } from "../support/context";
import * as jobsPage from "../../app/routes/jobs";
import { startRecheckJob } from "../../app/cardlytics/recheck-jobs.server";

/** Log lines as the runner writes them (pino JSON), so a test can read what was logged. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "info", destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { log, lines };
}

/** A promise and the functions that settle it: the tests decide when a handler's work ends. */
function gate<T = void>() {
  let open!: (v: T) => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((open = res), (fail = rej)));
  return { promise, open, fail };
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
});
afterEach(() => {
  process.off("unhandledRejection", onUnhandled);
});

const dbPath = (db: Db) => db.$client.name;

describe("the job runner", () => {
  it("after a restart carries a resumable job on from its progress and marks the others interrupted", async () => {
    const db = freshDb();
    const { log } = capturedLog();
    // The first process: both jobs get under way, record some progress, and the process dies with them running.
    const first = new JobRunner({ db, log });
    const never = new Promise<never>(() => {});
    const reached = { resumable: gate(), oneShot: gate() };
    first.define("count_to_ten", {
      concurrency: 1,
      resumable: true,
      run: async (ctx) => {
        ctx.progress(4, { counted: 4 });
        reached.resumable.open();
        return never;
      },
    });
    first.define("one_shot", {
      concurrency: 1,
      resumable: false,
      run: async (ctx) => {
        ctx.progress(1);
        reached.oneShot.open();
        return never;
      },
    });
    const resumable = first.enqueue("count_to_ten", { to: 10 }, { total: 10 });
    const oneShot = first.enqueue("one_shot", {}, { total: 3 });
    await Promise.all([reached.resumable.promise, reached.oneShot.promise]);
    expect(db.select().from(jobs).all().map((j) => [j.kind, j.status, j.progressDone])).toEqual([
      ["count_to_ten", "running", 4],
      ["one_shot", "running", 1],
    ]);

    // The next process, on its own connection to the same file.
    const again = openDatabase(dbPath(db));
    const second = new JobRunner({ db: again, log });
    const seen: JobContext["job"][] = [];
    second.define("count_to_ten", {
      concurrency: 1,
      resumable: true,
      run: (ctx) => {
        seen.push(ctx.job);
        const from = ctx.job.progressDone;
        for (let i = from + 1; i <= 10; i++) ctx.progress(i, { counted: i });
        return { counted: 10, resumedFrom: from };
      },
    });
    second.define("one_shot", { concurrency: 1, resumable: false, run: () => ({ ran: true }) });
    expect(second.start()).toEqual({ resumed: 1, interrupted: 1 });
    expect(await second.settled(resumable.id)).toMatchObject({ status: "finished", progressDone: 10, attempts: 2, result: { counted: 10, resumedFrom: 4 } });
    expect(seen[0]).toMatchObject({ progressDone: 4, result: { counted: 4 }, params: { to: 10 } });
    expect(second.get(oneShot.id)).toMatchObject({ status: "interrupted", progressDone: 1, error: "The console stopped while this job ran.", finishedAt: expect.any(Date) });
    await second.stop(1000);
  });

  it("a shutdown pauses a resumable job at its next safe point; the next start carries it on", async () => {
    const db = freshDb();
    const runner = new JobRunner({ db, log: capturedLog().log });
    const stepped = gate();
    runner.define("steps", {
      concurrency: 1,
      resumable: true,
      run: async (ctx) => {
        for (let i = ctx.job.progressDone; i < 5; i++) {
          if (ctx.stopping()) return PAUSED;
          ctx.progress(i + 1);
          if (i === 1) {
            stepped.open();
            await new Promise((r) => setImmediate(r));
          }
        }
        return { steps: 5 };
      },
    });
    const job = runner.enqueue("steps", {});
    await stepped.promise;
    expect(await runner.stop(5000)).toEqual({ cutOff: [] });
    expect(runner.get(job.id)).toMatchObject({ status: "queued", progressDone: 2 });
    runner.start();
    expect(await runner.settled(job.id)).toMatchObject({ status: "finished", progressDone: 5, attempts: 2 });
  });

  it("a handler that hits SQLITE_BUSY, throws or rejects marks its job failed with the error, and the runner keeps serving", async () => {
    const db = freshDb();
    db.$client.pragma("busy_timeout = 50");
    const { log, lines } = capturedLog();
    const metrics = new Metrics(db, dbPath(db));
    const runner = new JobRunner({ db, log, metrics });
    // Another connection holds the write lock while the handler writes: a real SQLITE_BUSY from SQLite.
    const other = new Database(dbPath(db));
    runner.define("busy", {
      concurrency: 1,
      resumable: false,
      run: (ctx) => {
        other.exec("BEGIN IMMEDIATE");
        try {
          ctx.progress(1);
        } finally {
          other.exec("ROLLBACK");
        }
        return {};
      },
    });
    runner.define("throws", {
      concurrency: 1,
      resumable: false,
      run: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'accounts')");
      },
    });
    runner.define("vendor", {
      concurrency: 1,
      resumable: false,
      run: async (ctx) => {
        if (ctx.job.params.fail) await Promise.reject(Object.assign(new Error("Cardlytics answered 503"), { code: "VENDOR_UNAVAILABLE" }));
        return { ok: true };
      },
    });
    const busy = runner.enqueue("busy", {});
    const throws = runner.enqueue("throws", {});
    const rejected = runner.enqueue("vendor", { fail: true });
    const after = runner.enqueue("vendor", { fail: false });
    expect(await runner.settled(busy.id)).toMatchObject({ status: "failed", error: expect.stringMatching(/^SQLITE_BUSY: database is locked/), finishedAt: expect.any(Date) });
    expect(await runner.settled(throws.id)).toMatchObject({ status: "failed", error: "Cannot read properties of undefined (reading 'accounts')" });
    expect(await runner.settled(rejected.id)).toMatchObject({ status: "failed", error: "VENDOR_UNAVAILABLE: Cardlytics answered 503" });
    // The failed job freed its slot: the next of its kind ran.
    expect(await runner.settled(after.id)).toMatchObject({ status: "finished", result: { ok: true } });

    // A recurring kind that fails records it on its row and runs again at its next turn.
    let calls = 0;
    runner.every("sweep", {
      everyMs: 60_000,
      run: () => {
        if (++calls === 1) throw Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
        return { swept: 3 };
      },
    });
    await runner.runRecurring("sweep");
    expect(db.select().from(jobs).where(eq(jobs.kind, "sweep")).get()).toMatchObject({ recurring: true, status: "failed", error: "SQLITE_BUSY: database is locked", attempts: 1 });
    await runner.runRecurring("sweep");
    expect(db.select().from(jobs).where(eq(jobs.kind, "sweep")).get()).toMatchObject({ status: "finished", error: null, result: { swept: 3 }, attempts: 2 });

    // Let any stray rejection surface before looking.
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    const failures = lines.filter((l) => l.msg === "job failed" || String(l.msg).startsWith("sweep failed"));
    expect(failures.map((l) => [l.job, (l.err as { message: string }).message])).toEqual([
      ["busy", expect.stringContaining("database is locked")],
      ["throws", "Cannot read properties of undefined (reading 'accounts')"],
      ["vendor", "Cardlytics answered 503"],
      ["sweep", "database is locked"],
    ]);
    const counted = (await metrics.jobs.get()).values.map((v) => [v.labels.kind, v.labels.outcome, v.value]);
    expect(counted).toEqual(expect.arrayContaining([["busy", "error", 1], ["throws", "error", 1], ["vendor", "error", 1], ["vendor", "ok", 1], ["sweep", "error", 1], ["sweep", "ok", 1]]));
    other.close();
  });

  it("runs at most the configured number of jobs of a kind at once, oldest first, each kind on its own", async () => {
    const db = freshDb();
    const runner = new JobRunner({ db, log: capturedLog().log });
    const gates = new Map<number, ReturnType<typeof gate<void>>>();
    const started: number[] = [];
    let peak = { wide: 0, narrow: 0 };
    const handler = (kind: "wide" | "narrow") => async (ctx: JobContext) => {
      started.push(ctx.job.id);
      peak = { ...peak, [kind]: Math.max(peak[kind], runner.running(kind)) };
      const g = gate<void>();
      gates.set(ctx.job.id, g);
      await g.promise;
      return { id: ctx.job.id };
    };
    runner.define("wide", { concurrency: 2, resumable: false, run: handler("wide") });
    runner.define("narrow", { concurrency: 1, resumable: false, run: handler("narrow") });
    const wide = Array.from({ length: 5 }, () => runner.enqueue("wide", {}).id);
    const narrow = Array.from({ length: 3 }, () => runner.enqueue("narrow", {}).id);
    const statuses = () => Object.fromEntries(db.select().from(jobs).all().map((j) => [j.id, j.status]));
    const waitStarted = async (n: number) => {
      while (started.length < n) await new Promise((r) => setImmediate(r));
    };

    await waitStarted(3);
    expect(statuses()).toEqual({ [wide[0]!]: "running", [wide[1]!]: "running", [wide[2]!]: "queued", [wide[3]!]: "queued", [wide[4]!]: "queued", [narrow[0]!]: "running", [narrow[1]!]: "queued", [narrow[2]!]: "queued" });
    // Ending one wide job starts the oldest queued wide job, and no narrow one.
    gates.get(wide[1]!)!.open();
    await runner.settled(wide[1]!);
    await waitStarted(4);
    expect(started).toEqual([wide[0], wide[1], narrow[0], wide[2]]);
    expect(runner.running("wide")).toBe(2);
    expect(runner.running("narrow")).toBe(1);
    // A failing job frees its slot as well.
    gates.get(narrow[0]!)!.fail(new Error("boom"));
    expect(await runner.settled(narrow[0]!)).toMatchObject({ status: "failed", error: "boom" });
    // Then everything, in turn.
    while (started.length < 8 || [...gates.keys()].some((id) => runner.get(id)!.status === "running")) {
      for (const [id, g] of gates) if (runner.get(id)!.status === "running") g.open();
      await new Promise((r) => setImmediate(r));
    }
    expect(peak).toEqual({ wide: 2, narrow: 1 });
    expect(started.filter((id) => wide.includes(id))).toEqual(wide);
    expect(started.filter((id) => narrow.includes(id))).toEqual(narrow);
    expect(Object.values(statuses()).filter((s) => s === "finished")).toHaveLength(7);
    expect(unhandled).toEqual([]);
  });
});

describe("the jobs migration", () => {
  it("moves the re-checks, re-runs and bulk runs recorded before it into the jobs table", () => {
    // A database at the migration before, with one job of each old kind.
    const before = join(mkdtempSync(join(tmpdir(), "linkdesk-migrations-")), "migrations");
    mkdirSync(join(before, "meta"), { recursive: true });
    for (const f of readdirSync(migrationsFolder).filter((f) => f.endsWith(".sql") && f < "0015")) copyFileSync(join(migrationsFolder, f), join(before, f));
    const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as { entries: { tag: string }[] };
    writeFileSync(join(before, "meta", "_journal.json"), JSON.stringify({ ...journal, entries: journal.entries.filter((e) => e.tag < "0015") }));
    const path = join(mkdtempSync(join(tmpdir(), "linkdesk-migrate-")), "old.db");
    const db = openDatabase(path);
    runMigrations(db, before);
    const c = db.$client;
    c.prepare("insert into staff_users (id, email, name, role, password_hash, password_changed_at, created_at, updated_at) values (7, 'ops@example.test', 'Ops', 'ops', 'x', 1, 1, 1)").run();
    c.prepare("insert into recheck_jobs (created_at, created_by, customer_hashes, done, failed, status, finished_at) values (1000, 7, '[\"aa\",\"bb\",\"cc\"]', 3, 1, 'finished', 2000)").run();
    c.prepare("insert into webhook_rehandle_jobs (created_at, created_by, filter, event_ids, done, still_failing, status) values (3000, 7, '{\"type\":\"ITEM\"}', '[4,5,6,7]', 2, 1, 'running')").run();

    c.prepare("insert into cra_bulk_runs (id, created_by, created_at, reason, purpose, days_requested, products, total, status) values (9, 7, 4000, 'review', 'ACCOUNT_REVIEW_CREDIT', 365, '[]', 3, 'running')").run();
    for (const [position, outcome] of [[1, "queued"], [2, "invalid"], [3, "waiting"]] as const) c.prepare("insert into cra_bulk_rows (run_id, position, input, outcome) values (9, ?, 'x', ?)").run(position, outcome);

    runMigrations(db);
    const rows = db.select().from(jobs).all();
    expect(rows).toEqual([
      expect.objectContaining({ kind: "cardlytics_recheck", status: "finished", params: { customerHashes: ["aa", "bb", "cc"] }, progressDone: 3, progressTotal: 3, result: { failed: 1 }, createdBy: 7, createdAt: new Date(1000), finishedAt: new Date(2000), attempts: 1, recurring: false }),
      expect.objectContaining({ kind: "webhook_rehandle", status: "running", params: { eventIds: [4, 5, 6, 7], filter: { type: "ITEM" } }, progressDone: 2, progressTotal: 4, result: { stillFailing: 1 }, createdBy: 7, finishedAt: null }),
      expect.objectContaining({ kind: "cra_bulk_run", status: "running", params: { runId: 9 }, progressDone: 2, progressTotal: 3, result: { invalid: 1, queued: 1, waiting: 1 }, createdBy: 7, createdAt: new Date(4000) }),
    ]);
    expect(c.prepare("select name from sqlite_master where name in ('recheck_jobs', 'webhook_rehandle_jobs')").all()).toEqual([]);
    db.$client.close();
  });
});

describe("the background jobs page", () => {
  it("lists each job with its progress and result, a failed one with its error, and the last run of each scheduled kind", async () => {
    const h = await createHarness();
    const ops = { id: h.users.ops.id, email: h.users.ops.email, role: "ops" as const };
    // Cardlytics is unreachable in this harness: every customer of the re-check is counted as not checked.
    const { jobId, finished } = startRecheckJob({ db: h.db, jobs: h.jobs, now: h.clock.now }, { customerHashes: ["a".repeat(64), "b".repeat(64)], actor: ops, clientAddress: "127.0.0.1" });
    await finished;
    h.jobs.define("exploding", { concurrency: 1, resumable: false, run: () => Promise.reject(new Error("vendor answered 500")) });
    const failed = h.jobs.enqueue("exploding", {}, { createdBy: ops.id });
    await h.jobs.settled(failed.id);
    await h.jobs.runRecurring("session_pruning");

    const load = async (query = "") => jobsPage.loader({ request: await h.request(`/jobs${query}`, { role: "ops" }), context: h.context(), params: {} });
    const d = await load();
    expect(d.jobs.map((j) => [j.id, j.kind, j.status, j.done, j.total, j.result, j.error, j.createdByEmail, j.page])).toEqual([
      [failed.id, "exploding", "failed", 0, null, null, "vendor answered 500", "ops@example.test", null],
      [jobId, "cardlytics_recheck", "finished", 2, 2, { checked: 0, failed: 2 }, null, "ops@example.test", `/customers/expiring?job=${jobId}`],
    ]);
    expect(d.recurring).toEqual([expect.objectContaining({ kind: "session_pruning", status: "finished", result: { removed: 0, expiredSignInSteps: 0 }, runs: 1 })]);
    expect((await load("?status=failed")).jobs.map((j) => j.id)).toEqual([failed.id]);
    expect((await load("?kind=cardlytics_recheck")).jobs.map((j) => j.id)).toEqual([jobId]);
    expect(unhandled).toEqual([]);
  });
});
