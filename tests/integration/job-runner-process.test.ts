import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startConsoleProcess } from "../support/console-process";
import { testEnv } from "../support/context";

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill("SIGKILL");
});

/** Waits for a condition the console reaches on its own; fails with `what` if it never does. */
async function until(what: string, check: () => boolean, limitMs = 60_000) {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Row = { status: string; attempts: number; error: string | null };

describe("background work in the running console", () => {
  it("a real SQLITE_BUSY inside the scheduled dispatch is logged with its job, and the console keeps serving and carries on", async () => {
    const port = await freePort();
    const databasePath = join(mkdtempSync(join(tmpdir(), "linkdesk-busy-")), "busy.db");
    const env = testEnv({ DATABASE_PATH: databasePath, PORT: String(port), LINKDESK_DEV: "1", NODE_ENV: "development", PLAID_BASE_URL: "http://127.0.0.1:9", CARDLYTICS_BASE_URL: "http://127.0.0.1:9" });
    child = await startConsoleProcess(env);
    const out: string[] = [];
    child.stdout!.on("data", (chunk: Buffer) => out.push(...chunk.toString().split("\n").filter(Boolean)));
    let exited: number | null = null;
    child.once("exit", (code) => (exited = code ?? -1));

    const read = new Database(databasePath, { readonly: true });
    const dispatch = () => read.prepare("select status, attempts, error from jobs where kind = 'check_dispatch' and recurring = 1").get() as Row | undefined;
    try {
      await until("a first dispatch run recorded", () => dispatch()?.status === "finished");
      // Another process takes the write lock and keeps it past the console's busy timeout (5 s): the dispatch's
      // write of its outcome fails with SQLITE_BUSY.
      const lock = new Database(databasePath);
      lock.exec("BEGIN IMMEDIATE");
      const held = dispatch()!.attempts;
      try {
        await until(
          "the busy database logged by the dispatch",
          () => out.some((l) => (l.includes('"job":"check_dispatch"') && l.includes("SQLITE_BUSY")) || l.includes("unhandled rejection")),
          30_000,
        );
      } finally {
        lock.exec("ROLLBACK");
        lock.close();
      }
      expect(out.filter((l) => l.includes("unhandled rejection"))).toEqual([]);
      // Still up, still answering, and the dispatch runs again and records it.
      expect(exited).toBeNull();
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(res.status).toBe(200);
      await until("the dispatch recording its runs again", () => dispatch()!.attempts > held && dispatch()!.status === "finished");
      const busyLine = JSON.parse(out.find((l) => l.includes('"job":"check_dispatch"') && l.includes("SQLITE_BUSY"))!) as { level: number; err: { code: string; stack: string } };
      expect(busyLine.level).toBe(50);
      expect(busyLine.err.code).toBe("SQLITE_BUSY");
      expect(busyLine.err.stack).toContain("SqliteError");
      expect(out.filter((l) => l.includes("unhandled rejection"))).toEqual([]);
      expect(exited).toBeNull();
    } finally {
      read.close();
    }
  }, 120_000);
});
