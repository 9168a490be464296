// The load side of bench/webhooks.ts, in its own process: sends signed Plaid webhooks (a share of them forged) to
// one URL for a bounded time and prints what came back as JSON.
import { createPrivateKey } from "node:crypto";
import { Pool } from "undici";
import { signBody } from "../simulators/plaid/webhooks";

const [url, durationMs, concurrency, forgedShare] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const key = { privateKey: createPrivateKey(process.env.BENCH_KEY_PEM!), jwk: { kid: process.env.BENCH_KID! } } as Parameters<typeof signBody>[1];
const target = new URL(url);
const pool = new Pool(target.origin, { connections: concurrency, pipelining: 1 });
const latencies: number[] = [];
let ok = 0;
let refused = 0;
let errors = 0;
let seq = 0;
const deadline = performance.now() + durationMs;
const cpuAtStart = process.cpuUsage();

async function worker(w: number) {
  while (performance.now() < deadline) {
    const n = seq++;
    const body = JSON.stringify({ webhook_type: "ITEM", webhook_code: "NEW_ACCOUNTS_AVAILABLE", item_id: `bench-${process.pid}-${w}-${n}`, error: null, environment: "sandbox" }, null, 2);
    // Forged: signed for a different body, so only the hash check can catch it.
    const forged = n % Math.round(1 / forgedShare) === 0;
    const header = signBody(forged ? `${body} ` : body, key, Date.now());
    const started = performance.now();
    try {
      const res = await pool.request({ path: target.pathname, method: "POST", headers: { "content-type": "application/json", "plaid-verification": header }, body });
      await res.body.dump();
      latencies.push(performance.now() - started);
      if (res.statusCode === 200) ok++;
      else refused++;
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
const senderCpu = process.cpuUsage(cpuAtStart);
await pool.close();
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
console.log(JSON.stringify({ ok, refused, errors, perSecond: ok / (durationMs / 1000), p50: pct(0.5), p99: pct(0.99), senderCpuPerRequest: (senderCpu.user + senderCpu.system) / Math.max(1, ok + refused) }));
