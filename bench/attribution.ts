// How long it takes to give a customer the webhooks that arrived before their item was registered, at millions of
// deliveries, against the same update made without the index in the same run.
// Usage: npx tsx bench/attribution.ts [deliveries] [items timed]
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimId } from "../app/customers/identity.server";
import { refreshPlannerStats, runMigrations } from "../db/migrate";
import { openDatabase } from "../db/open";

const total = Number(process.argv[2] ?? 2_000_000);
const timed = Number(process.argv[3] ?? 30);
const db = openDatabase(join(mkdtempSync(join(tmpdir(), "linkdesk-bench-attribution-")), "attribution.db"));
runMigrations(db);
const c = db.$client;
const hex = (n: number) => randomBytes(n).toString("hex");
const items = Array.from({ length: 100_000 }, () => hex(18));
const body = Buffer.from(JSON.stringify({ webhook_type: "TRANSACTIONS", webhook_code: "SYNC_UPDATES_AVAILABLE", item_id: "x", environment: "production" }, null, 2));
const insert = c.prepare(
  "insert into webhook_deliveries (received_at, event_id, verdict, answered_status, body, body_sha256, headers, webhook_type, webhook_code, item_id, customer_hash) values (?, null, 'verified', 200, ?, 'h', '{}', 'TRANSACTIONS', 'SYNC_UPDATES_AVAILABLE', ?, ?)",
);
const started = performance.now();
const start = Date.now() - 90 * 86_400_000;
const load = c.transaction((from: number, to: number) => {
  for (let i = from; i < to; i++) insert.run(start + i, body, items[i % items.length]!, i % 5 === 0 ? null : hex(32));
});
for (let i = 0; i < total; i += 100_000) load(i, Math.min(total, i + 100_000));
refreshPlannerStats(db);
console.log(`loaded ${total.toLocaleString("en-US")} deliveries for ${items.length.toLocaleString("en-US")} items in ${((performance.now() - started) / 1000).toFixed(1)} s`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
// Items whose deliveries have no customer yet (every fifth delivery), each claimed once by a new customer.
const waiting = items.filter((_, i) => i % 5 === 0);
const claimTimes: number[] = [];
let attributed = 0;
for (let i = 0; i < timed; i++) {
  const t = performance.now();
  const outcome = db.transaction((tx) => claimId(tx, { kind: "item", value: waiting[i]!, customerHash: hex(32), source: "publisher", at: new Date() }));
  claimTimes.push(performance.now() - t);
  if (outcome.status === "claimed") attributed += outcome.attributed;
}
const scan = c.prepare("update webhook_deliveries not indexed set customer_hash = ? where item_id = ? and customer_hash is null");
const scanTimes: number[] = [];
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  scan.run(hex(32), waiting[timed + i]!);
  scanTimes.push(performance.now() - t);
}
console.log(`claim of one item (graph row, its deliveries and events, funnel events), ${timed} items, ${(attributed / timed).toFixed(1)} deliveries each: p50 ${median(claimTimes).toFixed(2)} ms, max ${Math.max(...claimTimes).toFixed(2)} ms`);
console.log(`baseline: the same delivery update without the index, 3 items: p50 ${median(scanTimes).toFixed(2)} ms`);
db.$client.close();
