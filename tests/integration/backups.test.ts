import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { action as backupAction, loader as backupLoader } from "../../app/routes/admin.backups";
import { listBackups, nextBackupDelay, runBackup, startBackupSchedule, takeBackup } from "../../app/ops/backups.server";
import { hashPassword } from "../../app/staff/password.server";
import { runMigrations } from "../../db/migrate";
import { openDatabase } from "../../db/open";
import { auditLog, staffUsers } from "../../db/schema";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { signBody } from "../../simulators/plaid/webhooks";
import { freePort, startConsoleProcess } from "../support/console-process";
import { cookieHeader, createHarness, form, requireNoSecondFactor, statusOf, testEnv, TestClock } from "../support/context";
import { freshDb } from "../support/db";

const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), `linkdesk-${prefix}-`));
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("a backup taken while the console serves a webhook burst", () => {
  const PLAID = { clientId: "backup-client", secret: "backup-secret" };
  let sim: PlaidSimulator;
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    sim = await startPlaidSimulator({ ...PLAID });
  });
  afterAll(async () => {
    child?.kill("SIGTERM");
    await sim.close();
  });

  it("holds every delivery answered 200 before it started, and restores as a sound database", async () => {
    const dir = tmp("backup-burst");
    const databasePath = join(dir, "console.db");
    const backupDir = join(dir, "backups");
    // The database is made large enough (some 16 MB) that the copy takes many turns of the event loop, so the burst
    // goes on while it runs; and an admin is there to ask for it.
    const seed = openDatabase(databasePath);
    runMigrations(seed);
    const now = new Date();
    requireNoSecondFactor(seed);
    seed.insert(staffUsers).values({ email: "ops-admin@example.test", name: "Ops admin", role: "admin", passwordHash: await hashPassword("backup admin password"), passwordChangedAt: now, createdAt: now, updatedAt: now }).run();
    const filler = "x".repeat(2000);
    seed.transaction((tx) => {
      for (let i = 0; i < 8000; i++) tx.insert(auditLog).values({ at: now, action: "filler.row", details: { i, filler } }).run();
    });
    seed.$client.close();

    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    child = await startConsoleProcess(
      testEnv({ DATABASE_PATH: databasePath, BACKUP_DIR: backupDir, PORT: String(port), PLAID_BASE_URL: sim.url, PLAID_CLIENT_ID: PLAID.clientId, PLAID_SECRET: PLAID.secret, LINKDESK_DEV: "1", NODE_ENV: "development" }),
    );
    const login = await fetch(`${origin}/login`, { method: "POST", redirect: "manual", headers: { Origin: origin }, body: form({ email: "ops-admin@example.test", password: "backup admin password" }) });
    expect(login.status).toBe(302);
    const cookie = cookieHeader(login.headers.get("set-cookie")!);
    // The page is compiled once before the burst, so the backup request itself is answered promptly.
    expect((await fetch(`${origin}/admin/backups`, { headers: { Cookie: cookie } })).status).toBe(200);

    const acknowledged: string[] = [];
    let ackedBeforeBackup: string[] | undefined;
    let backupAnswered = false;
    let ackedWhileBackingUp = 0;
    let sent = 0;
    let stop = false;
    const latencyDuring: number[] = [];
    const latencyOutside: number[] = [];
    const p = (values: number[], q: number) => values.sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * q))]!.toFixed(1);
    const worker = async () => {
      while (!stop) {
        const body = JSON.stringify({ webhook_type: "ITEM", webhook_code: "NEW_ACCOUNTS_AVAILABLE", item_id: `backup-item-${sent++}`, error: null, environment: "sandbox" }, null, 2);
        const sentAt = performance.now();
        const during = Boolean(ackedBeforeBackup) && !backupAnswered;
        const res = await fetch(`${origin}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json", "plaid-verification": signBody(body, sim.keys.current, Date.now()) }, body });
        await res.arrayBuffer();
        if (res.status !== 200) continue;
        acknowledged.push(sha256(body));
        (during ? latencyDuring : latencyOutside).push(performance.now() - sentAt);
        if (ackedBeforeBackup && !backupAnswered) ackedWhileBackingUp++;
        // Once the backup has answered, the burst goes on a little longer, then ends.
        if (backupAnswered && acknowledged.length >= (ackedBeforeBackup?.length ?? 0) + ackedWhileBackingUp + 50) stop = true;
      }
    };
    const backupMidBurst = async () => {
      while (acknowledged.length < 150) await new Promise((resolve) => setImmediate(resolve));
      ackedBeforeBackup = [...acknowledged];
      const res = await fetch(`${origin}/admin/backups`, { method: "POST", headers: { Cookie: cookie, Origin: origin }, body: form({ intent: "backup" }) });
      const page = await res.text();
      backupAnswered = true;
      return { status: res.status, page };
    };
    const [backup] = await Promise.all([backupMidBurst(), ...Array.from({ length: 6 }, worker)]);
    expect(backup.status).toBe(200);
    expect(backup.page).toMatch(/Backup linkdesk-[\dTZ-]+-[0-9a-f]{6}\.db written/);

    const files = listBackups(backupDir);
    expect(files).toHaveLength(1);
    expect(readdirSync(backupDir)).toEqual([files[0]!.name]); // no partial file left beside it
    // Restore: the file is a whole database on its own (copied where DATABASE_PATH would point, as the README says).
    const restoredPath = join(dir, "restored.db");
    copyFileSync(files[0]!.path, restoredPath);
    const restored = new Database(restoredPath, { readonly: true });
    expect(restored.pragma("integrity_check", { simple: true })).toBe("ok");
    const stored = new Set((restored.prepare("select dedupe_key from webhook_events").all() as { dedupe_key: string }[]).map((r) => r.dedupe_key));
    const fillerRows = restored.prepare("select count(*) as n from audit_log where action = 'filler.row'").get() as { n: number };
    restored.close();
    expect(ackedBeforeBackup!.length).toBeGreaterThanOrEqual(150);
    expect(ackedBeforeBackup!.filter((hash) => !stored.has(hash))).toEqual([]);
    expect(fillerRows.n).toBe(8000);

    // The console kept serving, and the backup is in the audit log under the admin who asked for it.
    const live = new Database(databasePath, { readonly: true });
    const audit = live.prepare("select staff_email, target_id, details from audit_log where action = 'backup.create'").all() as { staff_email: string; target_id: string; details: string }[];
    live.close();
    expect(audit).toMatchObject([{ staff_email: "ops-admin@example.test", target_id: files[0]!.name }]);
    const details = JSON.parse(audit[0]!.details) as { durationMs: number };
    expect(details).toMatchObject({ trigger: "manual", bytes: files[0]!.bytes });
    // And the restored file serves: the console starts on it (migrations and all) and the same admin signs in.
    await new Promise<void>((resolve) => {
      child!.once("exit", () => resolve());
      child!.kill("SIGTERM");
    });
    const restoredPort = await freePort();
    const restoredOrigin = `http://127.0.0.1:${restoredPort}`;
    child = await startConsoleProcess(
      testEnv({ DATABASE_PATH: restoredPath, BACKUP_INTERVAL_HOURS: "0", PORT: String(restoredPort), PLAID_BASE_URL: sim.url, PLAID_CLIENT_ID: PLAID.clientId, PLAID_SECRET: PLAID.secret, LINKDESK_DEV: "1", NODE_ENV: "development" }),
    );
    expect((await fetch(`${restoredOrigin}/healthz`)).status).toBe(200);
    const relogin = await fetch(`${restoredOrigin}/login`, { method: "POST", redirect: "manual", headers: { Origin: restoredOrigin }, body: form({ email: "ops-admin@example.test", password: "backup admin password" }) });
    expect(relogin.status).toBe(302);
    console.warn(`backup during a webhook burst: ${files[0]!.bytes} bytes in ${details.durationMs} ms; ${ackedBeforeBackup!.length} deliveries acknowledged before it, ${ackedWhileBackingUp} while it ran; webhook latency p50/p99 ${p(latencyOutside, 0.5)}/${p(latencyOutside, 0.99)} ms outside the backup, ${p(latencyDuring, 0.5)}/${p(latencyDuring, 0.99)} ms during it`);
  }, 180_000);
});

describe("backups on their own", () => {
  it("keeps the newest BACKUP_KEEP and deletes the oldest", async () => {
    const db = freshDb();
    const dir = join(tmp("backup-keep"), "backups");
    const clock = new TestClock();
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      const outcome = await takeBackup(db.$client, { dir, keep: 2 }, clock.now);
      if (!outcome.ok) throw new Error(outcome.error);
      names.push(outcome.file.name);
      expect(outcome.removed).toEqual(i >= 2 ? [names[i - 2]] : []);
      clock.advance(3_600_000);
    }
    expect(listBackups(dir).map((f) => f.name)).toEqual([names[3], names[2]]);
    expect(listBackups(dir)[0]!.takenAt).toEqual(new Date(clock.current.getTime() - 3_600_000));
    // Files that are not backups are left alone.
    writeFileSync(join(dir, "notes.txt"), "keep me");
    await takeBackup(db.$client, { dir, keep: 1 }, clock.now);
    expect(readdirSync(dir).sort()).toEqual([listBackups(dir)[0]!.name, "notes.txt"].sort());
  });

  it("two backups at once (the schedule and an admin) both succeed, and retention between them keeps the count", async () => {
    const db = freshDb();
    const dir = join(tmp("backup-concurrent"), "backups");
    const clock = new TestClock();
    await takeBackup(db.$client, { dir, keep: 1 }, clock.now);
    clock.advance(1000);
    const outcomes = await Promise.all([takeBackup(db.$client, { dir, keep: 1 }, clock.now), takeBackup(db.$client, { dir, keep: 1 }, clock.now)]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    expect(listBackups(dir)).toHaveLength(1);
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it("reports a backup that cannot be written, audits it, and leaves the console working", async () => {
    const db = freshDb();
    const blocker = join(tmp("backup-fail"), "a-file");
    writeFileSync(blocker, "not a directory");
    const settings = { dir: join(blocker, "backups"), keep: 3 };
    const outcome = await runBackup({ db, settings, now: () => new Date() }, { trigger: "manual", actor: null });
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toMatch(/ENOTDIR|EEXIST|not a directory/i);
    const failed = db.select().from(auditLog).all().filter((e) => e.action === "backup.failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.details).toMatchObject({ trigger: "manual", dir: settings.dir });
    // The database is as usable as before.
    expect(db.$client.prepare("select count(*) as n from audit_log").get()).toEqual({ n: 1 });
  });

  it("the schedule backs up on its own after its first delay, audits it without an actor, and stop waits for it", async () => {
    const db = freshDb();
    const dir = join(tmp("backup-schedule"), "backups");
    const logged: string[] = [];
    const schedule = startBackupSchedule({
      db,
      settings: { dir, keep: 5 },
      intervalMs: 3_600_000,
      firstDelayMs: 0,
      now: () => new Date(),
      log: { info: (m) => logged.push(`info: ${m}`), error: (m) => logged.push(`error: ${m}`) },
    });
    await vi.waitFor(() => expect(logged).toEqual(["info: scheduled backup written"]), { timeout: 15_000 });
    await schedule.stop();
    expect(listBackups(dir)).toHaveLength(1);
    const entries = db.select().from(auditLog).all();
    expect(entries).toMatchObject([{ action: "backup.create", staffUserId: null, targetId: listBackups(dir)[0]!.name, details: { trigger: "schedule" } }]);
  });

  it("a scheduled backup that fails is logged and tried again later, never thrown", async () => {
    const db = freshDb();
    const blocker = join(tmp("backup-schedule-fail"), "a-file");
    writeFileSync(blocker, "");
    const logged: string[] = [];
    const schedule = startBackupSchedule({
      db,
      settings: { dir: join(blocker, "backups"), keep: 5 },
      intervalMs: 3_600_000,
      firstDelayMs: 0,
      now: () => new Date(),
      log: { info: (m) => logged.push(`info: ${m}`), error: (m) => logged.push(`error: ${m}`) },
    });
    await vi.waitFor(() => expect(logged).toContain("error: scheduled backup failed; it is tried again later"), { timeout: 15_000 });
    // The directory was already reported unreadable at start.
    expect(logged).toEqual(["error: the backup directory cannot be read", "error: scheduled backup failed; it is tried again later"]);
    await schedule.stop();
    expect(db.select().from(auditLog).all()).toMatchObject([{ action: "backup.failed", details: { trigger: "schedule" } }]);
  });

  it("times the next scheduled backup from the newest one in the directory", () => {
    const now = new Date("2026-12-01T12:00:00Z");
    const hours = (n: number) => n * 3_600_000;
    expect(nextBackupDelay(undefined, now, hours(24))).toBe(60_000);
    expect(nextBackupDelay(new Date(now.getTime() - hours(20)), now, hours(24))).toBe(hours(4));
    expect(nextBackupDelay(new Date(now.getTime() - hours(30)), now, hours(24))).toBe(60_000);
    // A clock that went back (a backup stamped in the future) waits one interval at most.
    expect(nextBackupDelay(new Date(now.getTime() + hours(48)), now, hours(24))).toBe(hours(24));
  });
});

describe("/admin/backups", () => {
  it("lists the backups with size and time, and an admin's 'Back up now' writes one, audited", async () => {
    const dir = join(tmp("backup-page"), "backups");
    const h = await createHarness({ BACKUP_DIR: dir, BACKUP_KEEP: "2" });
    const post = async () => backupAction({ request: await h.request("/admin/backups", { method: "POST", role: "admin", body: form({ intent: "backup" }) }), context: h.context(), params: {} });
    const result = (await post()) as { ok: boolean; message: string };
    expect(result).toMatchObject({ ok: true, message: expect.stringMatching(/^Backup linkdesk-.*\.db written/) });
    const page = (await backupLoader({ request: await h.request("/admin/backups", { role: "admin" }), context: h.context(), params: {} })) as Awaited<ReturnType<typeof backupLoader>>;
    expect(page.files).toHaveLength(1);
    expect(page.files[0]!.bytes).toBeGreaterThan(0);
    expect(page.files[0]!.takenAt).toBe(h.clock.now().getTime());
    expect(page.attempts).toMatchObject([{ ok: true, by: "admin@example.test", name: page.files[0]!.name }]);
    expect(page).toMatchObject({ dir, intervalHours: 24, keep: 2, problem: null, nextDueAt: page.files[0]!.takenAt + 24 * 3_600_000, late: false });
    // A day and more without a backup is shown as late.
    h.clock.advance(26 * 3_600_000);
    const later = await backupLoader({ request: await h.request("/admin/backups", { role: "admin" }), context: h.context(), params: {} });
    expect(later.late).toBe(true);
    expect(existsSync(join(dir, page.files[0]!.name))).toBe(true);
  });

  it("answers a backup that cannot be written with a 503 and the reason, and shows the failure on the page", async () => {
    const blocker = join(tmp("backup-page-fail"), "a-file");
    writeFileSync(blocker, "");
    const h = await createHarness({ BACKUP_DIR: join(blocker, "backups") });
    const request = await h.request("/admin/backups", { method: "POST", role: "admin", body: form({ intent: "backup" }) });
    expect(await statusOf(() => backupAction({ request, context: h.context(), params: {} }))).toBe(503);
    const again = await h.request("/admin/backups", { method: "POST", role: "admin", body: form({ intent: "backup" }) });
    const answer = (await backupAction({ request: again, context: h.context(), params: {} })) as unknown as { data: { message: string } };
    expect(answer.data.message).toMatch(/^The backup failed: .*(ENOTDIR|EEXIST|not a directory)/i);
    const page = await backupLoader({ request: await h.request("/admin/backups", { role: "admin" }), context: h.context(), params: {} });
    expect(page.problem).toMatch(/cannot be read/);
    expect(page.attempts.map((a) => a.ok)).toEqual([false, false]);
    expect(page.attempts[0]!.error).toMatch(/ENOTDIR|EEXIST|not a directory/i);
  });
});
