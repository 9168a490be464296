// How much time the customer page adds on top of Cardlytics itself. For each simulated vendor latency it times
// (a) the bare accountLink call with a live session token, as a baseline, and (b) the page's whole server-side
// work (audit, Cardlytics call through our client, storing the check, reading history and timeline), in the same run.
// Usage: npx tsx bench/customer-page.ts [iterations]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { CardlyticsClient } from "../app/cardlytics/client.server";
import { loadConfig } from "../app/config/env.server";
import { customerOverview } from "../app/customers/overview.server";
import { createPlaidClient } from "../app/plaid/client.server";
import { runMigrations } from "../db/migrate";
import { openDatabase } from "../db/open";
import { staffUsers } from "../db/schema";
import { startSimulators } from "../simulators";

const iterations = Number(process.argv[2] ?? 60);
const hmacKey = "bench-hmac-key-0123456789abcdef0123456789";
const sims = await startSimulators({ customerIdHmacKey: hmacKey, env: {} as NodeJS.ProcessEnv });
const db = openDatabase(join(mkdtempSync(join(tmpdir(), "linkdesk-bench-")), "bench.db"));
runMigrations(db);
const now = new Date();
const { id: staffId } = db.insert(staffUsers).values({ email: "bench@example.test", name: "Bench", role: "support", passwordHash: "x", passwordChangedAt: now, createdAt: now, updatedAt: now }).returning({ id: staffUsers.id }).get();
const config = loadConfig({
  SESSION_SECRET: "b".repeat(40),
  TOKEN_ENCRYPTION_KEY: "c".repeat(64),
  CUSTOMER_ID_HMAC_KEY: hmacKey,
  LINKDESK_SIMULATORS: "on",
  NODE_ENV: "production",
});
const cardlytics = new CardlyticsClient({ baseUrl: sims.cardlytics.url, ...sims.credentials.cardlytics });
const plaid = createPlaidClient({ plaid: { ...config.plaid, baseUrl: sims.plaid.url, ...sims.credentials.plaid } });
const ctx = { db, cardlytics, plaid, config, clientAddress: "127.0.0.1", now: () => new Date() };
const customer = sims.cardlytics.seeded.find((s) => s.rawId === "demo-two-cards")!.hash;
const actor = { id: staffId, email: "bench@example.test", role: "support" as const };

const token = ((await (await request(`${sims.cardlytics.url}/v2/session/startSession`, {
  method: "POST",
  headers: { "content-type": "application/json", "x-source-customer-id": customer },
  body: JSON.stringify(sims.credentials.cardlytics),
})).body.json()) as { sessionToken: string }).sessionToken;

async function bare() {
  const res = await request(`${sims.cardlytics.url}/v2/data/accountLink`, { headers: { authorization: `Bearer ${token}`, "x-source-customer-id": customer } });
  await res.body.text();
}

// The page's whole server-side work: the stored state, then every streamed part settled.
const page = async () => {
  const o = customerOverview(ctx, { customerHash: customer, mockData: false, actor });
  await Promise.all([o.cardlytics, o.plaid, o.verdict, o.escalation]);
};

async function time(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b);
}
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

// Give the page a realistic history to read: a few hundred earlier checks and views.
for (let i = 0; i < 300; i++) await page();

console.log(`customer page vs bare Cardlytics accountLink, ${iterations} calls each (times in ms)`);
console.log("vendor latency | bare p50 | bare p90 | page p50 | page p90 | overhead p50 | overhead p90");
for (const latencyMs of [0, 100]) {
  await request(`${sims.cardlytics.url}/__sim/faults`, { method: "POST", body: JSON.stringify({ "/v2/data/accountLink": { latencyMs } }) }).then((r) => r.body.dump());
  await time(bare, 5);
  await time(page, 5);
  // Interleave the two so both see the same machine conditions.
  const b: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < iterations; i++) {
    b.push(...(await time(bare, 1)));
    p.push(...(await time(page, 1)));
  }
  b.sort((x, y) => x - y);
  p.sort((x, y) => x - y);
  const row = [latencyMs, pct(b, 50), pct(b, 90), pct(p, 50), pct(p, 90), pct(p, 50) - pct(b, 50), pct(p, 90) - pct(b, 90)];
  console.log(row.map((v, i) => (i === 0 ? `${v} ms`.padStart(14) : v.toFixed(2).padStart(i >= 5 ? 12 : 8))).join(" | "));
}
await sims.close();
db.$client.close();
