import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { fileURLToPath } from "node:url";
import type { Db } from "./open";

export const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

/**
 * The one explicit step that brings a database file up to the current schema. Never run at import time.
 * Foreign keys are off while it runs: a migration that rebuilds a table (SQLite's way to change a column) drops the
 * old one, which with foreign keys on would cascade into the tables that refer to it. A PRAGMA inside the migration
 * cannot do this, since the migrations run in a transaction; the keys are checked once they have all been applied.
 */
export function runMigrations(db: Db, folder = migrationsFolder): void {
  const client = db.$client;
  const enforced = client.pragma("foreign_keys", { simple: true }) === 1;
  client.pragma("foreign_keys = OFF");
  try {
    migrate(db, { migrationsFolder: folder });
    const broken = client.pragma("foreign_key_check") as unknown[];
    if (broken.length) throw new Error(`The migrations left ${broken.length} row(s) pointing at rows that do not exist`);
  } finally {
    if (enforced) client.pragma("foreign_keys = ON");
  }
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
