import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../app/config/env.server";
import { createPlaidClient } from "../../app/plaid/client.server";
import { createBulkRun } from "../../app/reports/bulk-runs.server";
import { createCraUser } from "../../app/reports/check-reports.server";
import { hashPassword } from "../../app/staff/password.server";
import { runMigrations } from "../../db/migrate";
import { openDatabase } from "../../db/open";
import { staffUsers } from "../../db/schema";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { FaultSet } from "../../simulators/shared/faults";
import { freePort, startConsoleProcess } from "../support/console-process";
import { testEnv } from "../support/context";

const PLAID = { clientId: "bulk-restart-client", secret: "bulk-restart-secret" };
const LINES = 40;
let sim: PlaidSimulator;
let child: ChildProcess | undefined;


/** Waits for a condition the console reaches on its own; fails with `what` if it never does. */
async function until(what: string, check: () => boolean, limitMs = 90_000) {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  // Each create is slowed a little so the kill lands while the queue is being sent.
  sim = await startPlaidSimulator({ ...PLAID, faults: new FaultSet({ "/cra/check_report/create": { latencyMs: 150 } }), settings: { reportDelayMs: 200 } });
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await sim.close();
});

describe("bulk regeneration across a restart", () => {
  it("carries on after SIGKILL mid-run and never sends a request twice", async () => {
    const port = await freePort();
    const databasePath = join(mkdtempSync(join(tmpdir(), "linkdesk-bulk-")), "bulk.db");
    const env = testEnv({ DATABASE_PATH: databasePath, PORT: String(port), PLAID_BASE_URL: sim.url, PLAID_CLIENT_ID: PLAID.clientId, PLAID_SECRET: PLAID.secret, LINKDESK_DEV: "1", NODE_ENV: "development", CRA_BULK_CONCURRENCY: "6" });

    // The run is recorded before the console starts: Plaid Check users for every line, then the run itself.
    const db = openDatabase(databasePath);
    runMigrations(db);
    const now = new Date();
    const ops = db.insert(staffUsers).values({ email: "ops@example.test", name: "Ops", role: "ops", passwordHash: await hashPassword("correct horse battery staple"), passwordChangedAt: now, createdAt: now, updatedAt: now }).returning().get();
    const config = loadConfig(env);
    const deps = { db, plaid: createPlaidClient(config), config, now: () => new Date() };
    const ctx = { actor: { id: ops.id, email: ops.email, role: "ops" as const }, clientAddress: "127.0.0.1" };
    const hashes = Array.from({ length: LINES }, (_, i) => i.toString(16).padStart(2, "0").repeat(32));
    for (const customerHash of hashes) {
      await createCraUser(deps, { customerHash, identity: { givenName: "Alice", familyName: "Johnson", dateOfBirth: "1988-07-22", phone: "+14155550123", email: "alice@example.com", street: "123 Main St", city: "Anytown", region: "CA", postalCode: "90210" } }, ctx);
    }
    const { run } = createBulkRun(deps, { list: hashes.join("\n"), reason: "restart drill", purpose: "ACCOUNT_REVIEW_CREDIT", daysRequested: 365, products: [] }, ctx);
    db.$client.close();

    child = await startConsoleProcess(env);
    await until("a dozen reports sent", () => sim.state.reports.length >= 12);
    const killed = child;
    const exited = new Promise((resolve) => killed.once("exit", resolve));
    killed.kill("SIGKILL");
    await exited;
    const sentBeforeKill = sim.state.reports.length;
    expect(sentBeforeKill).toBeLessThan(LINES);

    child = await startConsoleProcess(env);
    const read = new Database(databasePath, { readonly: true });
    try {
      await until("the run finished and every report went out", () => {
        const r = read.prepare("select status from cra_bulk_runs where id = ?").get(run.id) as { status: string };
        const unsent = read.prepare("select count(*) as n from cra_reports where sent_at is null").get() as { n: number };
        return r.status === "finished" && unsent.n === 0;
      });
      const lines = read.prepare("select outcome, report_id as reportId from cra_bulk_rows where run_id = ?").all(run.id) as { outcome: string; reportId: number | null }[];
      expect(lines.map((l) => l.outcome)).toEqual(Array(LINES).fill("queued"));
      // Its job row was left running by the kill, carried on by the restarted dispatch, and ended with the run.
      const job = read.prepare("select status, progress_done as done, progress_total as total, result from jobs where kind = 'cra_bulk_run'").all() as { status: string; done: number; total: number; result: string }[];
      expect(job).toEqual([{ status: "finished", done: LINES, total: LINES, result: JSON.stringify({ queued: LINES }) }]);
      expect(new Set(lines.map((l) => l.reportId)).size).toBe(LINES);
      const reports = read.prepare("select id, sent_at as sentAt, plaid_request_id as requestId from cra_reports").all() as { id: number; sentAt: number | null; requestId: string | null }[];
      expect(reports).toHaveLength(LINES);
      // Plaid saw each user at most once. A request in flight at the kill may have reached Plaid without its answer
      // being recorded: it stays pending (and is flagged later), never sent again.
      const perUser = new Map<string, number>();
      for (const r of sim.state.reports) perUser.set(r.userKey, (perUser.get(r.userKey) ?? 0) + 1);
      expect([...perUser.values()].filter((n) => n > 1)).toEqual([]);
      const answered = reports.filter((r) => r.requestId).length;
      expect(sim.state.reports.length).toBeGreaterThanOrEqual(answered);
      expect(sim.state.reports.length).toBeLessThanOrEqual(LINES);
      expect(answered).toBeGreaterThanOrEqual(LINES - 1);
      expect(sim.state.reports.length).toBeGreaterThan(sentBeforeKill);
    } finally {
      read.close();
    }
  }, 240_000);
});
