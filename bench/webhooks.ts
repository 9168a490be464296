// Throughput of the webhook receiver against bare baselines, in the same run. A second process sends signed webhooks
// (10% forged) for a bounded time over loopback to (a) a bare node:http server that only inserts the raw body into
// better-sqlite3 with the same pragmas (so each insert is its own synced commit), (a') the same server with
// synchronous = NORMAL, whose commits a power loss may undo, (b) the bare server also verifying each signature with
// the receiver's own function, and (c) the console's production server with its real receiver. Both processes' CPU
// time per request and the server's event-loop utilisation are printed beside the rates. A shared machine's speed
// drifts from one second to the next, so the four are measured in several rounds, in a rotating order, and compared
// round by round.
// Usage: npm run build && npx tsx bench/webhooks.ts [seconds] [concurrency] [rounds]
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { performance } from "node:perf_hooks";
import { mkdtempSync, statSync } from "node:fs";
import pino from "pino";
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
const rounds = Number(process.argv[4] ?? 3);
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

type Result = Awaited<ReturnType<typeof send>>;

// (a) the bare baseline, (a') the same without a sync at each commit, and (b) the same server also checking each
// signature with the receiver's own verification function: what the ES256 check alone costs on this machine.
async function bareServer(name: string, verifying: boolean, synchronous?: "NORMAL") {
  const db = openDatabase(join(dir, `${name}.db`));
  if (synchronous) db.$client.pragma(`synchronous = ${synchronous}`);
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
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    rows: () => (db.$client.prepare("select count(*) n from raw").get() as { n: number }).n,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// (c) the console, production build, real receiver, logging every request at info to a file, and (d) the same with
// logging off, so the cost of the logs on the hot path is measured in the same rounds.
const consoleEnv = (name: string, level: string): NodeJS.ProcessEnv => ({
  ...process.env,
  NODE_ENV: "production",
  PORT: "0",
  SESSION_SECRET: "bench-session-secret-0123456789abcdef",
  TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
  CUSTOMER_ID_HMAC_KEY: "bench-hmac-key-0123456789abcdef0123",
  PLAID_BASE_URL: sim.url,
  PLAID_CLIENT_ID: plaidCreds.clientId,
  PLAID_SECRET: plaidCreds.secret,
  CARDLYTICS_CLIENT_ID: "unused",
  CARDLYTICS_SECRET: "unused",
  DATABASE_PATH: join(dir, `${name}.db`),
  LOG_LEVEL: level,
});
const logFile = join(dir, "console.log");
const consoleApp = await startConsole(consoleEnv("console", "info"), { logDestination: pino.destination({ dest: logFile, sync: false }) });
const quietApp = await startConsole(consoleEnv("console-quiet", "silent"));
const servers = [
  { name: "bare node:http + better-sqlite3", ...(await bareServer("bare", false)) },
  { name: "bare, synchronous = NORMAL", ...(await bareServer("bare-normal", false, "NORMAL")) },
  { name: "bare + ES256 verification", ...(await bareServer("bare-verifying", true)) },
  {
    name: "Linkdesk /webhooks/plaid",
    url: `${consoleApp.url}/webhooks/plaid`,
    rows: () => (consoleApp.db.$client.prepare("select count(*) n from webhook_events").get() as { n: number }).n,
    close: () => consoleApp.close(),
  },
  {
    name: "Linkdesk, logging off",
    url: `${quietApp.url}/webhooks/plaid`,
    rows: () => (quietApp.db.$client.prepare("select count(*) n from webhook_events").get() as { n: number }).n,
    close: () => quietApp.close(),
  },
];
const results: Result[][] = servers.map(() => []);
for (let round = 0; round < rounds; round++) {
  for (let k = 0; k < servers.length; k++) {
    const i = (round + k) % servers.length;
    results[i]!.push(await send(servers[i]!.url));
  }
}
const rows = servers.map((s) => s.rows());
const counts = consoleApp.db.$client.prepare("select (select count(*) from webhook_deliveries where verdict = 'verified') verified, (select count(*) from webhook_deliveries where verdict = 'rejected') rejected").get() as { verified: number; rejected: number };
const groups = groupCommitStats(consoleApp.db);
for (const s of servers) await s.close();
await sim.close();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const [bare, bareNormal, verifying, ours, quiet] = results as [Result[], Result[], Result[], Result[], Result[]];
console.log(`${rounds} rounds of ${seconds} s per server, ${concurrency} connections, 10% forged, loopback; medians over the rounds`);
console.log(`${"server".padEnd(34)} ${"200/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"200s".padStart(8)} ${"refused".padStart(8)} ${"errors".padStart(6)} ${"CPU µs/req".padStart(10)} ${"sender µs".padStart(10)} ${"loop busy".padStart(10)}`);
servers.forEach((s, i) => {
  const r = results[i]!;
  const m = (f: (x: Result) => number) => median(r.map(f));
  console.log(`${s.name.padEnd(34)} ${m((x) => x.perSecond).toFixed(0).padStart(8)} ${m((x) => x.p50).toFixed(2).padStart(8)} ${m((x) => x.p99).toFixed(2).padStart(8)} ${String(sum(r.map((x) => x.ok))).padStart(8)} ${String(sum(r.map((x) => x.refused))).padStart(8)} ${String(sum(r.map((x) => x.errors))).padStart(6)} ${m((x) => x.cpuPerRequest).toFixed(0).padStart(10)} ${m((x) => x.senderCpuPerRequest).toFixed(0).padStart(10)} ${(m((x) => x.loopBusy) * 100).toFixed(0).padStart(9)}%`);
});
const ratios = (a: Result[], b: Result[]) => a.map((x, i) => x.perSecond / b[i]!.perSecond);
const show = (xs: number[]) => `median ${median(xs).toFixed(2)} (rounds: ${xs.map((x) => x.toFixed(2)).join(", ")})`;
console.log(`throughput ratio, ours / bare: ${show(ratios(ours, bare))}`);
console.log(`throughput ratio, logging on / logging off (metrics counted in both): ${show(ratios(ours, quiet))}; ${statSync(logFile).size} bytes of log written`);
console.log(`throughput ratio, (bare + verification) / bare, what the ES256 check alone costs: ${show(ratios(verifying, bare))}`);
console.log(`throughput ratio, ours / (bare + verification): ${show(ratios(ours, verifying))}`);
console.log(`throughput ratio, ours / bare with synchronous = NORMAL (commits that a power loss may undo): ${show(ratios(ours, bareNormal))}`);
console.log(`rows: bare ${rows[0]} for ${sum(bare.map((x) => x.ok))} 200s; bare, NORMAL ${rows[1]} for ${sum(bareNormal.map((x) => x.ok))} 200s; bare + verification ${rows[2]} for ${sum(verifying.map((x) => x.ok))} 200s; Linkdesk ${rows[3]} events, ${counts.verified} verified and ${counts.rejected} rejected deliveries for ${sum(ours.map((x) => x.ok))} 200s and ${sum(ours.map((x) => x.refused))} refusals`);
console.log(`group commit: ${groups.deliveries} deliveries in ${groups.transactions} transactions (${(groups.deliveries / Math.max(1, groups.transactions)).toFixed(1)} a transaction)`);
