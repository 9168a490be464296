// How the webhook history answers at millions of deliveries, against naive baselines in the same run.
// Loads a delivery table shaped like Plaid's traffic (types and codes in realistic shares, items, Check users and
// customers drawn from pools, refusals, redeliveries and failed handlers), then times the history's first page for
// every filter, a page deep in the list by keyset against the same page by OFFSET, and the text search.
// Usage: npx tsx bench/webhook-history.ts [deliveries] [repeats]
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { refreshPlannerStats, runMigrations } from "../db/migrate";
import { openDatabase } from "../db/open";
import { listDeliveries, TEXT_SEARCH_WINDOW } from "../app/webhooks/history.server";
import { rejectionAlert } from "../app/webhooks/maintenance.server";
import { timeRepeated } from "./timing";

const total = Number(process.argv[2] ?? 2_000_000);
const repeats = Number(process.argv[3] ?? 15);
const DAY = 86_400_000;
const now = Date.now();
const dir = mkdtempSync(join(tmpdir(), "linkdesk-bench-history-"));
const db = openDatabase(join(dir, "history.db"));
runMigrations(db);
const c = db.$client;

// A fixed seed, so that two runs load the same table.
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
const hex = (n: number) => randomBytes(n).toString("hex");
const items = Array.from({ length: 100_000 }, () => `${hex(16)}${hex(2)}`.replace(/^(.{8})/, "$1-"));
const users = Array.from({ length: 20_000 }, () => `usr_${hex(12)}`);
const customers = Array.from({ length: 60_000 }, () => hex(32));
const customerOf = new Map(items.map((item, i) => [item, i % 5 === 0 ? null : customers[i % customers.length]!]));
const customerOfUser = new Map(users.map((user, i) => [user, customers[(i * 7) % customers.length]!]));
const MIX: [string, string, number][] = [
  ["TRANSACTIONS", "SYNC_UPDATES_AVAILABLE", 0.5],
  ["ITEM", "NEW_ACCOUNTS_AVAILABLE", 0.1],
  ["ITEM", "ERROR", 0.05],
  ["ITEM", "PENDING_DISCONNECT", 0.02],
  ["ITEM", "LOGIN_REPAIRED", 0.01],
  ["ITEM", "WEBHOOK_UPDATE_ACKNOWLEDGED", 0.02],
  ["LINK", "EVENTS", 0.2],
  ["CHECK_REPORT", "CHECK_REPORT_READY", 0.07],
  ["CHECK_REPORT", "CHECK_REPORT_FAILED", 0.03],
];
function kind(): [string, string] {
  let r = rand();
  for (const [type, code, share] of MIX) if ((r -= share) < 0) return [type, code];
  return ["TRANSACTIONS", "SYNC_UPDATES_AVAILABLE"];
}

const insertEvent = c.prepare(
  "insert into webhook_events (dedupe_key, webhook_type, webhook_code, item_id, user_id, customer_hash, environment, first_received_at, last_received_at, delivery_count, handling_status, handling_result, handled_at, handle_attempts) values (?, ?, ?, ?, ?, ?, 'production', ?, ?, ?, ?, ?, ?, 1) returning id",
);
const insertDelivery = c.prepare(
  "insert into webhook_deliveries (received_at, event_id, verdict, reason, answered_status, body, body_sha256, headers, kid, iat, webhook_type, webhook_code, item_id, user_id, customer_hash, client_address) values (?, ?, ?, ?, ?, ?, ?, ?, 'kid-1', ?, ?, ?, ?, ?, ?, '52.21.26.131')",
);
const headers = JSON.stringify({ "content-type": "application/json", "user-agent": "Plaid Verifier", "plaid-verification": `eyJhbGciOiJFUzI1NiJ9.${"x".repeat(180)}.${"y".repeat(86)}` });
const rareItem = items[12_345]!;
// Loaded without the secondary indexes, which are then built from the migration's own definitions: the same indexes
// the receiver maintains, in a fraction of the time.
const indexes = c.prepare("select name, sql from sqlite_master where type = 'index' and tbl_name in ('webhook_deliveries', 'webhook_events') and sql is not null").all() as { name: string; sql: string }[];
for (const { name } of indexes) c.exec(`drop index ${name}`);
const loadStart = performance.now();
const load = c.transaction((from: number, to: number) => {
  for (let i = from; i < to; i++) {
    const at = now - 90 * DAY + Math.floor((i / total) * 90 * DAY);
    const [type, code] = kind();
    const itemId = type === "CHECK_REPORT" ? null : pick(items);
    const userId = type === "CHECK_REPORT" ? pick(users) : null;
    const customerHash = itemId ? customerOf.get(itemId)! : customerOfUser.get(userId!)!;
    const payload: Record<string, unknown> = { webhook_type: type, webhook_code: code, environment: "production" };
    if (itemId) payload.item_id = itemId;
    if (userId) payload.user_id = userId;
    if (code === "ERROR") payload.error = { error_type: "ITEM_ERROR", error_code: "ITEM_LOGIN_REQUIRED", error_message: "the login details of this item have changed", status: 400 };
    if (type === "TRANSACTIONS") payload.initial_update_complete = true;
    const body = Buffer.from(JSON.stringify(payload, null, 2));
    const sha = createHash("sha256").update(body).update(String(i)).digest("hex");
    const refused = rand() < 0.005;
    if (refused) {
      insertDelivery.run(at, null, "rejected", "request_body_sha256 does not match the body received", 401, body, sha, headers, Math.floor(at / 1000), type, code, itemId, userId, customerHash);
      continue;
    }
    const failed = rand() < 0.005;
    const deliveries = rand() < 0.03 ? 2 : 1;
    const { id } = insertEvent.get(sha, type, code, itemId, userId, customerHash, at, at, deliveries, failed ? "failed" : "handled", failed ? "database is locked" : "recorded", at) as { id: number };
    // A redelivery follows at once here, so that received_at keeps the receiver's order.
    for (let d = 0; d < deliveries; d++) insertDelivery.run(at + d, id, "verified", null, 200, body, sha, headers, Math.floor(at / 1000), type, code, itemId, userId, customerHash);
  }
});
for (let i = 0; i < total; i += 20_000) load(i, Math.min(total, i + 20_000));
for (const { sql } of indexes) c.exec(sql);
// What the console itself does at start-up and every hour, not a full ANALYZE.
refreshPlannerStats(db);
const loadSeconds = (performance.now() - loadStart) / 1000;
const rows = (c.prepare("select count(*) n from webhook_deliveries").get() as { n: number }).n;

const maxId = (c.prepare("select max(id) m from webhook_deliveries").get() as { m: number }).m;
const deep = 100_000;
const deepBefore = maxId - deep;
const someCustomer = customerOf.get(items[7]!)!;
const aDay = new Date(now - 30 * DAY).toISOString().slice(0, 10);
const cases: [string, () => unknown][] = [
  ["newest page, no filter", () => listDeliveries(db, {})],
  [`page ${deep.toLocaleString("en")} rows deep, keyset`, () => listDeliveries(db, { before: deepBefore })],
  [`  baseline: the same page by OFFSET`, () => c.prepare("select id from webhook_deliveries order by id desc limit 51 offset ?").all(deep)],
  ["type ITEM, any code", () => listDeliveries(db, { type: "ITEM" })],
  ["type ITEM, code ERROR", () => listDeliveries(db, { type: "ITEM", code: "ERROR" })],
  ["type CHECK_REPORT, deep", () => listDeliveries(db, { type: "CHECK_REPORT", before: deepBefore })],
  ["one item_id", () => listDeliveries(db, { item: rareItem })],
  ["one user_id", () => listDeliveries(db, { user: users[3]! })],
  ["one customer", () => listDeliveries(db, { customer: someCustomer })],
  ["verdict rejected", () => listDeliveries(db, { verdict: "rejected" })],
  ["handling failed", () => listDeliveries(db, { status: "failed" })],
  [`one day (${aDay})`, () => listDeliveries(db, { from: aDay, to: aDay })],
  ["one day, type LINK", () => listDeliveries(db, { from: aDay, to: aDay, type: "LINK" })],
  ["rejection alert (the last hour's verdicts)", () => rejectionAlert(db, new Date(now))],
  ["  baseline: count(*) over the whole table", () => c.prepare("select count(*) from webhook_deliveries").get()],
  [`text, ${TEXT_SEARCH_WINDOW.toLocaleString("en")} bodies a page at most: a common word`, () => listDeliveries(db, { q: "ITEM_LOGIN_REQUIRED" })],
  ["text: a string found once (an item_id)", () => listDeliveries(db, { q: rareItem.slice(0, 20) })],
  ["text: a string found nowhere", () => listDeliveries(db, { q: "no-such-text-anywhere" })],
  ["  baseline: LIKE over every body", () => c.prepare("select count(*) from webhook_deliveries where cast(body as text) like '%no-such-text-anywhere%'").get()],
];

console.log(`${rows.toLocaleString("en")} deliveries loaded in ${loadSeconds.toFixed(1)} s; each query run ${repeats} times after one warm-up`);
console.log(`${"query".padEnd(64)} ${"p50 ms".padStart(9)} ${"max ms".padStart(9)}`);
for (const [name, run] of cases) {
  const t = timeRepeated(run, repeats);
  console.log(`${name.padEnd(64)} ${t.p50.toFixed(2).padStart(9)} ${t.max.toFixed(2).padStart(9)}`);
}
