import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Db } from "../../db/open";
import { listAudit, recordAudit, type Actor } from "../staff/audit.server";

/**
 * Online backups of the console's SQLite database, taken with SQLite's backup API on the console's own connection
 * while it keeps serving (docs/decisions/backup-method.md). better-sqlite3 copies 100 pages per turn of the event
 * loop, so requests and webhooks go on between the steps; a write made on the same connection meanwhile is carried
 * into the copy, so the finished file is one consistent state of the database that holds every commit made before
 * the backup started.
 */

export type BackupSettings = { dir: string; keep: number };
export type BackupFile = { name: string; path: string; bytes: number; takenAt: Date };
export type BackupTrigger = "manual" | "schedule";
export type BackupOutcome =
  | { ok: true; file: BackupFile; removed: string[]; durationMs: number }
  | { ok: false; error: string; durationMs: number };

// linkdesk-2026-12-02T14-35-18-123Z-a1b2c3.db: the time sorts as text, the suffix keeps two backups of one millisecond apart.
const BACKUP_NAME = /^linkdesk-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z-[0-9a-f]{6}\.db$/;
const PARTIAL_SUFFIX = ".partial";
// A partial file this old is what a backup cut off by a crash left behind.
const STALE_PARTIAL_MS = 24 * 3_600_000;

export function backupName(at: Date, suffix = randomBytes(3).toString("hex")): string {
  return `linkdesk-${at.toISOString().replace(/[:.]/g, "-")}-${suffix}.db`;
}

function takenAtOf(name: string): Date | null {
  const m = BACKUP_NAME.exec(name);
  return m ? new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : null;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The finished backups in the directory, newest first. A directory that does not exist yet holds none. */
export function listBackups(dir: string): BackupFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const files: BackupFile[] = [];
  for (const name of names) {
    const takenAt = takenAtOf(name);
    if (!takenAt) continue;
    const path = join(dir, name);
    try {
      files.push({ name, path, bytes: statSync(path).size, takenAt });
    } catch {
      // Deleted between the listing and the stat (retention running beside us): not a backup any more.
    }
  }
  return files.sort((a, b) => (a.name < b.name ? 1 : -1));
}

function fsyncPath(path: string, flags: "r" | "r+"): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Deletes the oldest backups beyond `keep`, and partial files a crash left behind. Returns the names deleted. */
export function pruneBackups(dir: string, keep: number, now: Date): string[] {
  const removed: string[] = [];
  for (const file of listBackups(dir).slice(keep)) {
    try {
      unlinkSync(file.path);
      removed.push(file.name);
    } catch (error) {
      // Another backup's retention, finishing at the same moment, deleted it first.
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  for (const name of readdirSync(dir)) {
    if (!/\.partial(-wal|-shm)?$/.test(name)) continue;
    const path = join(dir, name);
    try {
      if (now.getTime() - statSync(path).mtimeMs > STALE_PARTIAL_MS) unlinkSync(path);
    } catch {
      // Already gone.
    }
  }
  return removed;
}

/**
 * Writes one backup: copied to a hidden partial file, checked to open as a database, synced, then renamed into
 * place, so that a listed backup is always a whole one. Then the retention count is applied. Never throws: a
 * failure (a directory that cannot be written, a full disk) is the outcome's error, and nothing is left behind.
 */
export async function takeBackup(sqlite: Database.Database, settings: BackupSettings, now: () => Date): Promise<BackupOutcome> {
  const started = now();
  const name = backupName(started);
  const finalPath = join(settings.dir, name);
  const partialPath = join(settings.dir, `.${name}${PARTIAL_SUFFIX}`);
  const elapsed = () => now().getTime() - started.getTime();
  try {
    mkdirSync(settings.dir, { recursive: true });
    await sqlite.backup(partialPath);
    // The copy carries the source's WAL mode in its header; turned back to a rollback journal it is one
    // self-contained file (no -wal or -shm beside it) that a restore copies alone. Reading its schema checks it opens.
    const copy = new Database(partialPath, { fileMustExist: true });
    try {
      copy.pragma("journal_mode = DELETE");
      copy.prepare("select count(*) from sqlite_schema").get();
    } finally {
      copy.close();
    }
    fsyncPath(partialPath, "r+");
    renameSync(partialPath, finalPath);
    fsyncPath(settings.dir, "r");
    const bytes = statSync(finalPath).size;
    const removed = pruneBackups(settings.dir, settings.keep, now());
    return { ok: true, file: { name, path: finalPath, bytes, takenAt: started }, removed, durationMs: elapsed() };
  } catch (error) {
    for (const path of [partialPath, `${partialPath}-wal`, `${partialPath}-shm`]) {
      try {
        unlinkSync(path);
      } catch {
        // Never written, or the directory itself is the problem.
      }
    }
    return { ok: false, error: messageOf(error), durationMs: elapsed() };
  }
}

export type BackupDeps = { db: Db; settings: BackupSettings; now: () => Date };

/**
 * A backup with its audit entry: "backup.create" naming the file, or "backup.failed" with the reason, by the staff
 * member who asked for it or by the schedule (no actor). Never throws, even when the audit entry cannot be written.
 */
export async function runBackup(
  deps: BackupDeps,
  by: { trigger: BackupTrigger; actor: Actor; clientAddress?: string },
): Promise<BackupOutcome & { auditError?: string }> {
  const outcome = await takeBackup(deps.db.$client, deps.settings, deps.now);
  try {
    recordAudit(deps.db, {
      actor: by.actor,
      action: outcome.ok ? "backup.create" : "backup.failed",
      targetType: "backup",
      targetId: outcome.ok ? outcome.file.name : undefined,
      clientAddress: by.clientAddress,
      details: outcome.ok
        ? { trigger: by.trigger, bytes: outcome.file.bytes, durationMs: outcome.durationMs, removed: outcome.removed }
        : { trigger: by.trigger, error: outcome.error, dir: deps.settings.dir, durationMs: outcome.durationMs },
      at: deps.now(),
    });
    return outcome;
  } catch (error) {
    return { ...outcome, auditError: messageOf(error) };
  }
}

/** The latest backup attempts, from the audit log, newest first: what the backups page shows beside the files. */
export function recentBackupAttempts(db: Db, limit = 20) {
  return listAudit(db, { action: "backup.*" }, { limit }).entries;
}

export type BackupLog = { info: (message: string, details: Record<string, unknown>) => void; error: (message: string, details: Record<string, unknown>) => void };

// After a start-up the first scheduled backup waits this long, so a restart is not slowed by a copy of the database.
export const FIRST_BACKUP_DELAY_MS = 60_000;
// A failed scheduled backup is tried again this soon (or at the interval, if that is sooner).
export const RETRY_AFTER_FAILURE_MS = 3_600_000;

/**
 * How long until the next scheduled backup: one interval after the newest backup in the directory (so a console that
 * restarts often still backs up on time), and never sooner than the start-up delay.
 */
export function nextBackupDelay(newest: Date | undefined, now: Date, intervalMs: number, firstDelayMs = FIRST_BACKUP_DELAY_MS): number {
  if (!newest) return firstDelayMs;
  return Math.max(firstDelayMs, Math.min(intervalMs, newest.getTime() + intervalMs - now.getTime()));
}

export type BackupSchedule = { stop: () => Promise<void> };

/**
 * Takes a backup every interval (nothing when the interval is 0). Outcomes are logged and audited; a failure is
 * tried again later and never reaches the process. `stop` cancels the timer and waits for a backup under way, so
 * that the database is closed only after it.
 */
export function startBackupSchedule(
  deps: BackupDeps & { intervalMs: number; log: BackupLog; firstDelayMs?: number },
): BackupSchedule {
  if (deps.intervalMs <= 0) return { stop: async () => {} };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const arm = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(fire, delayMs);
    timer.unref();
  };
  const fire = () => {
    running = runBackup(deps, { trigger: "schedule", actor: null })
      .then((outcome) => {
        if (outcome.ok) {
          deps.log.info("scheduled backup written", { file: outcome.file.path, bytes: outcome.file.bytes, durationMs: outcome.durationMs, removed: outcome.removed });
        } else {
          deps.log.error("scheduled backup failed; it is tried again later", { dir: deps.settings.dir, error: outcome.error });
        }
        if (outcome.auditError) deps.log.error("the backup's audit entry could not be written", { error: outcome.auditError });
        arm(outcome.ok ? deps.intervalMs : Math.min(deps.intervalMs, RETRY_AFTER_FAILURE_MS));
      })
      .catch((error: unknown) => {
        deps.log.error("scheduled backup failed; it is tried again later", { error: messageOf(error) });
        arm(Math.min(deps.intervalMs, RETRY_AFTER_FAILURE_MS));
      })
      .finally(() => (running = undefined));
  };
  let newest: Date | undefined;
  try {
    newest = listBackups(deps.settings.dir)[0]?.takenAt;
  } catch (error) {
    deps.log.error("the backup directory cannot be read", { dir: deps.settings.dir, error: messageOf(error) });
  }
  arm(nextBackupDelay(newest, deps.now(), deps.intervalMs, deps.firstDelayMs));
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
