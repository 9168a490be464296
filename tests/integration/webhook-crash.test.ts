import type { ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { signBody } from "../../simulators/plaid/webhooks";
import { freePort, startConsoleProcess } from "../support/console-process";
import { testEnv } from "../support/context";

const PLAID = { clientId: "crash-client", secret: "crash-secret" };
let sim: PlaidSimulator;
let child: ChildProcess | undefined;


beforeAll(async () => {
  sim = await startPlaidSimulator({ ...PLAID });
});
afterAll(async () => {
  child?.kill("SIGKILL");
  await sim.close();
});

describe("webhook durability", () => {
  it("keeps every webhook that got a 200 when the server is killed with SIGKILL mid-burst", async () => {
    const port = await freePort();
    const databasePath = join(mkdtempSync(join(tmpdir(), "linkdesk-crash-")), "crash.db");
    const env = testEnv({ DATABASE_PATH: databasePath, PORT: String(port), PLAID_BASE_URL: sim.url, PLAID_CLIENT_ID: PLAID.clientId, PLAID_SECRET: PLAID.secret, LINKDESK_DEV: "1", NODE_ENV: "development" });
    child = await startConsoleProcess(env);
    const acknowledged: string[] = [];
    let sent = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && sent < 2000) {
        const body = JSON.stringify({ webhook_type: "ITEM", webhook_code: "NEW_ACCOUNTS_AVAILABLE", item_id: `item-${sent++}`, error: null, environment: "sandbox" }, null, 2);
        try {
          const res = await fetch(`http://127.0.0.1:${port}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json", "plaid-verification": signBody(body, sim.keys.current, Date.now()) }, body, signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (res.status === 200) acknowledged.push(createHash("sha256").update(body).digest("hex"));
          if (acknowledged.length >= 150 && !stop) {
            stop = true;
            child!.kill("SIGKILL");
          }
        } catch {
          stop = true; // the server is gone
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);

    child = await startConsoleProcess(env);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const db = new Database(databasePath, { readonly: true });
    const stored = new Set((db.prepare("select dedupe_key from webhook_events").all() as { dedupe_key: string }[]).map((r) => r.dedupe_key));
    db.close();
    expect(acknowledged.filter((hash) => !stored.has(hash))).toEqual([]);
  }, 120_000);
});
