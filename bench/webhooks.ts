// Throughput of the webhook receiver against a bare baseline, in the same run. A second process sends signed
// webhooks (10% forged) for a bounded time over loopback to (a) the console's production server and (b) a bare
// node:http server that only inserts the raw body into better-sqlite3 with the same pragmas.
// Usage: npm run build && npx tsx bench/webhooks.ts [seconds] [concurrency]
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../db/open";
import { startConsole } from "../server/main";
import { groupCommitStats } from "../app/webhooks/receive.server";
import { startPlaidSimulator } from "../simulators/plaid/server";

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
  const { stdout: out } = await promisify(execFile)(process.execPath, ["--import", "tsx", "bench/webhook-sender.ts", url, String(seconds * 1000), String(concurrency), "0.1"], {
    env: { ...process.env, BENCH_KEY_PEM: sim.keys.current.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), BENCH_KID: sim.keys.current.jwk.kid },
  });
  const used = process.cpuUsage(cpu);
  const result = JSON.parse(out) as { ok: number; refused: number; errors: number; perSecond: number; p50: number; p99: number };
  return { ...result, cpuPerRequest: (used.user + used.system) / Math.max(1, result.ok + result.refused) };
}

// (b) the bare baseline
const bareDb = openDatabase(join(dir, "bare.db"));
bareDb.$client.exec("create table raw (id integer primary key, body blob not null)");
const insert = bareDb.$client.prepare("insert into raw (body) values (?)");
const bare = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    insert.run(Buffer.concat(chunks));
    res.writeHead(200).end();
  });
});
await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
const bareResult = await send(`http://127.0.0.1:${(bare.address() as AddressInfo).port}/`);
const bareRows = (bareDb.$client.prepare("select count(*) n from raw").get() as { n: number }).n;
bare.close();

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

const row = (name: string, r: typeof ours) => `${name.padEnd(34)} ${r.perSecond.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.ok).padStart(8)} ${String(r.refused).padStart(8)} ${String(r.errors).padStart(6)} ${r.cpuPerRequest.toFixed(0).padStart(10)}`;
console.log(`${seconds} s per server, ${concurrency} connections, 10% forged, loopback`);
console.log(`${"server".padEnd(34)} ${"200/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"200s".padStart(8)} ${"refused".padStart(8)} ${"errors".padStart(6)} ${"CPU µs/req".padStart(10)}`);
console.log(row("bare node:http + better-sqlite3", bareResult));
console.log(row("Linkdesk /webhooks/plaid", ours));
console.log(`throughput ratio (ours / bare): ${(ours.perSecond / bareResult.perSecond).toFixed(2)}; CPU per request, bare / ours: ${(bareResult.cpuPerRequest / ours.cpuPerRequest).toFixed(2)}`);
console.log(`rows: bare ${bareRows} for ${bareResult.ok} 200s; Linkdesk ${counts.events} events, ${counts.verified} verified and ${counts.rejected} rejected deliveries for ${ours.ok} 200s and ${ours.refused} refusals`);
console.log(`group commit: ${groups.deliveries} deliveries in ${groups.transactions} transactions (${(groups.deliveries / Math.max(1, groups.transactions)).toFixed(1)} a transaction)`);
