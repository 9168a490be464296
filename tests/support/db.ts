import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase, type Db } from "../../db/open";
import { runMigrations } from "../../db/migrate";

let template: string | undefined;
let counter = 0;

/** A real SQLite file, migrated once per worker and copied for each caller: no truncation, no shared state. */
export function freshDb(): Db {
  if (!template) {
    const dir = mkdtempSync(join(tmpdir(), "linkdesk-test-"));
    template = join(dir, "template.db");
    const db = openDatabase(template);
    runMigrations(db);
    db.$client.pragma("wal_checkpoint(TRUNCATE)");
    db.$client.close();
  }
  const path = join(mkdtempSync(join(tmpdir(), "linkdesk-test-")), `test-${process.pid}-${counter++}.db`);
  copyFileSync(template, path);
  return openDatabase(path);
}
