// Throughput of the webhook receiver against bare baselines, in the same run. A second process sends signed webhooks
// (10% forged) for a bounded time over loopback to (a) a bare node:http server that only inserts the raw body into
// better-sqlite3 with the same pragmas, (b) the same server also verifying each signature with the receiver's own
// function, and (c) the console's production server with its real receiver. Both processes' CPU time per request
// and the server's event-loop utilisation are printed beside the rates.
// Usage: npm run build && npx tsx bench/webhooks.ts [seconds] [concurrency]
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { performance } from "node:perf_hooks";
import { mkdtempSync } from "node:fs";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../db/open";
import { startConsole } from "../server/main";
import { groupCommitStats } from "../app/webhooks/receive.server";
import { startPlaidSimulator } from "../simulators/plaid/server";
import { PlaidKeyCache, verifyPlaidWebhook } from "../app/webhooks/verify.server";

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 16);
const dir = mkdtempSync(join(tmpdir(), "linkdesk-bench-webhooks-"));
const plaidCreds = { clientId: "bench-client", secret: "bench-secret" };
const sim = await startPlaidSimulator({ ...plaidCreds });

// Asynchronous on purpose: the servers under test run in this process and must keep serving while it waits.
// The CPU time this process spends meanwhile is the server's (the sender is the other process): per answered
// request it is a steadier figure than throughput on a shared machine.
async function send(url: string) {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const { stdout: out } = await promisify(execFile)(process.execPath, ["--import", "tsx", "bench/webhook-sender.ts", url, String(seconds * 1000), String(concurrency), "0.1"], {
    env: { ...process.env, BENCH_KEY_PEM: sim.keys.current.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), BENCH_KID: sim.keys.current.jwk.kid },
  });
  const used = process.cpuUsage(cpu);
  const loop = performance.eventLoopUtilization(elu);
  const result = JSON.parse(out) as { ok: number; refused: number; errors: number; perSecond: number; p50: number; p99: number; senderCpuPerRequest: number };
  return { ...result, cpuPerRequest: (used.user + used.system) / Math.max(1, result.ok + result.refused), loopBusy: loop.utilization };
}

// (b) the bare baseline, and (c) the same server also checking each signature with the receiver's own verification
// function: how far a receiver that must verify ES256 can go on this machine before it stores or handles anything.
async function bareServer(name: string, verifying: boolean) {
  const db = openDatabase(join(dir, `${name}.db`));
  db.$client.exec("create table raw (id integer primary key, body blob not null)");
  const insert = db.$client.prepare("insert into raw (body) values (?)");
  const keys = new PlaidKeyCache(async () => sim.keys.current.jwk);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (!verifying) {
        insert.run(body);
        res.writeHead(200).end();
        return;
      }
      const header = req.headers["plaid-verification"];
      void verifyPlaidWebhook(createHash("sha256").update(body).digest("hex"), typeof header === "string" ? header : null, keys, Date.now()).then((v) => {
        if (v.ok) insert.run(body);
        res.writeHead(v.ok ? 200 : 401).end();
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const result = await send(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const rows = (db.$client.prepare("select count(*) n from raw").get() as { n: number }).n;
  server.close();
  return { ...result, rows };
}
const bareResult = await bareServer("bare", false);
const verifyingResult = await bareServer("bare-verifying", true);

// (a) the console, production build, real receiver
const consoleApp = await startConsole({
  ...process.env,
  NODE_ENV: "production",
  PORT: "0",
  DATABASE_PATH: join(dir, "console.db"),
  SESSION_SECRET: "bench-session-secret-0123456789abcdef",
  TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
  CUSTOMER_ID_HMAC_KEY: "bench-hmac-key-0123456789abcdef0123",
  PLAID_BASE_URL: sim.url,
  PLAID_CLIENT_ID: plaidCreds.clientId,
  PLAID_SECRET: plaidCreds.secret,
  CARDLYTICS_CLIENT_ID: "unused",
  CARDLYTICS_SECRET: "unused",
});
const ours = await send(`${consoleApp.url}/webhooks/plaid`);
const counts = consoleApp.db.$client.prepare("select (select count(*) from webhook_events) events, (select count(*) from webhook_deliveries where verdict = 'verified') verified, (select count(*) from webhook_deliveries where verdict = 'rejected') rejected").get() as { events: number; verified: number; rejected: number };
const groups = groupCommitStats(consoleApp.db);
await consoleApp.close();
await sim.close();

const row = (name: string, r: typeof ours) => `${name.padEnd(34)} ${r.perSecond.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.ok).padStart(8)} ${String(r.refused).padStart(8)} ${String(r.errors).padStart(6)} ${r.cpuPerRequest.toFixed(0).padStart(10)} ${r.senderCpuPerRequest.toFixed(0).padStart(10)} ${(r.loopBusy * 100).toFixed(0).padStart(9)}%`;
console.log(`${seconds} s per server, ${concurrency} connections, 10% forged, loopback`);
console.log(`${"server".padEnd(34)} ${"200/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"200s".padStart(8)} ${"refused".padStart(8)} ${"errors".padStart(6)} ${"CPU µs/req".padStart(10)} ${"sender µs".padStart(10)} ${"loop busy".padStart(10)}`);
console.log(row("bare node:http + better-sqlite3", bareResult));
console.log(row("bare + ES256 verification", verifyingResult));
console.log(row("Linkdesk /webhooks/plaid", ours));
console.log(`throughput ratio (ours / bare): ${(ours.perSecond / bareResult.perSecond).toFixed(2)}; (bare + verification) / bare: ${(verifyingResult.perSecond / bareResult.perSecond).toFixed(2)}; ours / (bare + verification): ${(ours.perSecond / verifyingResult.perSecond).toFixed(2)}`);
console.log(`CPU per request, bare / ours: ${(bareResult.cpuPerRequest / ours.cpuPerRequest).toFixed(2)}`);
console.log(`rows: bare ${bareResult.rows} for ${bareResult.ok} 200s; bare + verification ${verifyingResult.rows} for ${verifyingResult.ok} 200s; Linkdesk ${counts.events} events, ${counts.verified} verified and ${counts.rejected} rejected deliveries for ${ours.ok} 200s and ${ours.refused} refusals`);
console.log(`group commit: ${groups.deliveries} deliveries in ${groups.transactions} transactions (${(groups.deliveries / Math.max(1, groups.transactions)).toFixed(1)} a transaction)`);
