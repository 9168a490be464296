import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { fileURLToPath } from "node:url";
import type { Db } from "./open";

export const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

/** The one explicit step that brings a database file up to the current schema. Never run at import time. */
export function runMigrations(db: Db, folder = migrationsFolder): void {
  migrate(db, { migrationsFolder: folder });
}

/**
 * Gives SQLite's query planner fresh statistics on the tables that need them, reading a bounded sample of each index,
 * so that it picks the right index for the history's filters at any size. Run at start-up, after the migrations,
 * and by the hourly sweep.
 */
export function refreshPlannerStats(db: Db): void {
  db.$client.pragma("analysis_limit = 1000");
  db.$client.pragma("optimize = 0x10002");
}
