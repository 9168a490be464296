import Database from "better-sqlite3";
import { drizzle, type BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import * as schema from "./schema";

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** A database handle or an open transaction: what a query or mutation that does not start its own transaction takes. */
export type Queryable = BaseSQLiteDatabase<"sync", Database.RunResult, typeof schema>;

/**
 * Opens (creating if needed) the SQLite file with the pragmas every part of the app relies on.
 * WAL lets readers run beside the single writer; busy_timeout makes a second process wait instead of failing.
 * synchronous = FULL syncs the WAL at every commit, so that what the console has acknowledged (a webhook answered
 * 200, an event batch accepted, a report request marked sent) survives a power loss or an OS crash too, not only
 * the process dying; the webhook receiver's group commit pays that sync once per group.
 */
export function openDatabase(path: string): Db {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = FULL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  return drizzle(sqlite, { schema }) as Db;
}

/**
 * The better-sqlite3 connection under a drizzle handle or transaction, for hot paths that keep prepared statements.
 * Statements run on that one connection, so inside a transaction they are part of it.
 */
export function sqliteOf(db: Queryable): Database.Database {
  return (db as unknown as { session: { client: Database.Database } }).session.client;
}
