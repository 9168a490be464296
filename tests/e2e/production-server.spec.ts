import { test, expect } from "@playwright/test";
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCardlyticsSimulator, type CardlyticsSimulator } from "../../simulators/cardlytics/server";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { signBody } from "../../simulators/plaid/webhooks";
import { FaultSet } from "../../simulators/shared/faults";
import { SystemClock } from "../../simulators/shared/clock";

// `npm start` as a deployment runs it: plain `node server/start.js` on the build, no TypeScript loader, with its own
// process, so it can be stopped with SIGTERM. The vendors are the simulators, in this process.

const PLAID = { clientId: "prod-start-client", secret: "prod-start-secret" };
const CDLX = { clientId: "prod-start-cdlx", secret: "prod-start-cdlx-secret" };
let plaid: PlaidSimulator;
let cardlytics: CardlyticsSimulator;
const cardlyticsFaults = new FaultSet();

test.beforeAll(async () => {
  plaid = await startPlaidSimulator({ ...PLAID });
  cardlytics = await startCardlyticsSimulator({ ...CDLX, clock: new SystemClock(), faults: cardlyticsFaults, customerIdHmacKey: "x".repeat(40), plaid: { baseUrl: plaid.url, ...PLAID } });
});
test.afterAll(async () => {
  await cardlytics.close();
  await plaid.close();
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

async function startBuilt(): Promise<{ child: ChildProcess; url: string; databasePath: string; output: () => string; exited: Promise<number | null> }> {
  const port = await freePort();
  const databasePath = join(mkdtempSync(join(tmpdir(), "linkdesk-prod-")), "prod.db");
  // Only what a deployment sets: no NODE_OPTIONS, no loader, the built JavaScript and node_modules.
  const env = {
    NODE_ENV: "production" as const,
    PATH: process.env.PATH,
    PORT: String(port),
    DATABASE_PATH: databasePath,
    SESSION_SECRET: randomBytes(32).toString("hex"),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
    CUSTOMER_ID_HMAC_KEY: randomBytes(32).toString("hex"),
    PLAID_BASE_URL: plaid.url,
    PLAID_CLIENT_ID: PLAID.clientId,
    PLAID_SECRET: PLAID.secret,
    CARDLYTICS_BASE_URL: cardlytics.url,
    CARDLYTICS_CLIENT_ID: CDLX.clientId,
    CARDLYTICS_SECRET: CDLX.secret,
    SHUTDOWN_TIMEOUT_SECONDS: "15",
    METRICS_TOKEN: "prod-start-metrics-token-000000",
  };
  const child = spawn(process.execPath, ["server/start.js"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await expect.poll(() => output, { timeout: 30_000 }).toContain("listening on");
  return { child, url: `http://127.0.0.1:${port}`, databasePath, output: () => output, exited };
}

test("npm start runs the built server with no TypeScript loader: pages, the webhook fast path and readiness answer", async ({ page }) => {
  const s = await startBuilt();
  try {
    expect(s.child.spawnargs).toEqual([process.execPath, "server/start.js"]);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${s.url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    await page.goto(`${s.url}/login`);
    await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
    const unsigned = await fetch(`${s.url}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    // Log lines are JSON, and name the route pattern from the build's own route table.
    await expect.poll(() => s.output()).toContain('"route":"/login"');
    await expect.poll(() => s.output()).toContain('"route":"/webhooks/plaid","status":401');
    const signed = JSON.stringify({ webhook_type: "ITEM", webhook_code: "NEW_ACCOUNTS_AVAILABLE", item_id: "item-unknown", error: null, environment: "sandbox" }, null, 2);
    const ok = await fetch(`${s.url}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json", "plaid-verification": signBody(signed, plaid.keys.current, Date.now()) }, body: signed });
    expect(ok.status).toBe(200);
    const metrics = await (await fetch(`${s.url}/metrics`, { headers: { authorization: "Bearer prod-start-metrics-token-000000" } })).text();
    expect(metrics).toContain('linkdesk_webhook_deliveries_total{verdict="rejected",handling="none"} 1');
    expect(metrics).toContain('linkdesk_webhook_deliveries_total{verdict="verified",handling="ignored"} 1');
    expect(metrics).toMatch(/linkdesk_http_requests_total\{method="GET",route="\/login",status="200"\} 1/);
  } finally {
    s.child.kill("SIGTERM");
    expect(await s.exited).toBe(0);
  }
});

test("on SIGTERM it finishes a slow request and a webhook burst, keeps every 200 on disk, and exits 0", async () => {
  test.setTimeout(90_000);
  const s = await startBuilt();
  try {
    // Readiness asks Cardlytics, which takes 2 s: a slow request in flight when the signal comes.
    cardlyticsFaults.set("/v2/session/startSession", { latencyMs: 2000 });
    const slow = fetch(`${s.url}/readyz`).then(async (r) => ({ status: r.status, body: await r.text() }));
    const acknowledged: string[] = [];
    let sent = 0;
    let stop = false;
    const worker = async () => {
      while (!stop && sent < 600) {
        const body = JSON.stringify({ webhook_type: "ITEM", webhook_code: "NEW_ACCOUNTS_AVAILABLE", item_id: `stop-${sent++}`, error: null, environment: "sandbox" }, null, 2);
        try {
          const res = await fetch(`${s.url}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json", "plaid-verification": signBody(body, plaid.keys.current, Date.now()) }, body, signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (res.status === 200) acknowledged.push(createHash("sha256").update(body).digest("hex"));
        } catch {
          stop = true; // the server no longer takes connections
        }
      }
    };
    const burst = Promise.all(Array.from({ length: 6 }, worker));
    await expect.poll(() => acknowledged.length).toBeGreaterThan(20);
    s.child.kill("SIGTERM");
    const [answer] = await Promise.all([slow, burst]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ status: "ready" });
    expect(await s.exited).toBe(0);
    const db = new Database(s.databasePath, { readonly: true });
    const stored = new Set((db.prepare("select dedupe_key from webhook_events").all() as { dedupe_key: string }[]).map((r) => r.dedupe_key));
    db.close();
    expect(acknowledged.filter((h) => !stored.has(h))).toEqual([]);
    expect(s.output()).toContain('"msg":"shutting down"');
    expect(s.output()).toContain('"msg":"stopped"');
    expect(s.output()).not.toContain("cut off");
  } finally {
    cardlyticsFaults.clear();
    s.child.kill("SIGKILL");
  }
});
