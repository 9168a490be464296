import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { fileURLToPath } from "node:url";
import type { Db } from "./open";

export const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));

/** The one explicit step that brings a database file up to the current schema. Never run at import time. */
export function runMigrations(db: Db, folder = migrationsFolder): void {
  migrate(db, { migrationsFolder: folder });
}
