import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startConsole } from "../../server/main";
import { testEnv } from "../support/context";

describe("start-up", () => {
  it("refuses to start without real secrets, naming each variable, and exits non-zero", () => {
    const { SESSION_SECRET: _s, CUSTOMER_ID_HMAC_KEY: _c, ...rest } = testEnv();
    const result = spawnSync("node_modules/.bin/tsx", ["server/source-start.ts"], {
      env: { PATH: process.env.PATH, ...rest, TOKEN_ENCRYPTION_KEY: "changeme", DATABASE_PATH: ":memory:" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain("SESSION_SECRET is required");
    expect(result.stderr).toContain("CUSTOMER_ID_HMAC_KEY is required");
    expect(result.stderr).toContain("TOKEN_ENCRYPTION_KEY must be 64 hex characters");
  });

  it("applies the migrations to a new file and answers /healthz over HTTP without sign-in", async () => {
    const dir = mkdtempSync(join(tmpdir(), "linkdesk-start-"));
    const running = await startConsole(
      testEnv({ PORT: "0", DATABASE_PATH: join(dir, "fresh.db"), LINKDESK_DEV: "1", NODE_ENV: "development" }),
    );
    try {
      const res = await fetch(`${running.url}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ok", database: "ok", version: expect.any(String) });
      const tables = running.db.$client.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[];
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(["staff_users", "staff_sessions", "audit_log", "roles"]));
      expect(running.db.$client.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      await running.close();
    }
  });
});
