// How fast the funnel page's figures come out of a large event table, against a naive baseline in the same run.
// Loads 1,000,000 events for 100,000 customers over 90 days through the same recording code the ingest API uses,
// then times the 30-day and 90-day funnel beside a single GROUP BY over the raw events, and measures the page's
// HTML and data over HTTP on the production build.
// Usage: npm run build && npx tsx bench/funnel.ts [customers] [eventsPerCustomer] [repeats]
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { recordFunnelEvents, type FunnelEventInput } from "../app/funnel/record.server";
import { funnelReport, type FunnelQuery } from "../app/funnel/report.server";
import type { FunnelEventName } from "../app/funnel/steps";
import { runMigrations } from "../db/migrate";
import { openDatabase } from "../db/open";
import { newDemoLogins, seedDemoStaff } from "../db/seed";
import { startConsole } from "../server/main";
import { historicalJourneys } from "../simulators/funnel-history";
import { timeRepeated } from "./timing";

const customers = Number(process.argv[2] ?? 100_000);
const perCustomer = Number(process.argv[3] ?? 10);
const repeats = Number(process.argv[4] ?? 15);
const DAY = 86_400_000;
const now = Date.now();
const dir = mkdtempSync(join(tmpdir(), "linkdesk-bench-funnel-"));
const path = join(dir, "funnel.db");
const db = openDatabase(path);
runMigrations(db);

// Load
let loaded = 0;
let batch: FunnelEventInput[] = [];
const loadStart = performance.now();
const flush = () => {
  db.transaction((tx) => recordFunnelEvents(tx, batch, new Date(now)));
  loaded += batch.length;
  batch = [];
};
for (const events of historicalJourneys({ customers, days: 90, now, eventsPerCustomer: perCustomer, hashOf: (i) => createHash("sha256").update(`bench-${i}`).digest("hex") })) {
  for (const e of events) {
    batch.push({ eventId: e.event_id, name: e.name as FunnelEventName, occurredAt: e.occurred_at, source: "api", customerHash: e.customer_hash, linkSessionId: e.link_session_id ?? null, itemId: e.item_id ?? null, institutionId: e.institution_id ?? null, institutionName: e.institution_name ?? null, errorCode: e.error_code ?? null, attributes: e.attributes });
  }
  if (batch.length >= 10_000) flush();
}
flush();
const loadSeconds = (performance.now() - loadStart) / 1000;
db.$client.exec("analyze");


const today = Date.parse(new Date(now).toISOString().slice(0, 10)) + DAY;
const query = (days: number, breakdown: FunnelQuery["breakdown"] = null): FunnelQuery => ({ from: today - days * DAY, to: today, windowMs: 14 * DAY, interval: days > 60 ? "week" : "day", breakdown });
const naive = db.$client.prepare("select name, count(distinct customer_hash) from funnel_events where occurred_at >= ? and occurred_at < ? group by name");

const rows: [string, { p50: number; max: number }][] = [
  ["funnel, 30 days (with previous period, trend, exits)", timeRepeated(() => funnelReport(db, query(30), now), repeats)],
  ["funnel, 30 days, by institution", timeRepeated(() => funnelReport(db, query(30, { kind: "institution" }), now), repeats)],
  ["funnel, 30 days, by attribute platform", timeRepeated(() => funnelReport(db, query(30, { kind: "attribute", key: "platform" }), now), repeats)],
  ["baseline: one GROUP BY over raw events, 30 days", timeRepeated(() => naive.all(today - 30 * DAY, today), repeats)],
  ["funnel, 90 days", timeRepeated(() => funnelReport(db, query(90), now), repeats)],
  ["baseline: one GROUP BY over raw events, 90 days", timeRepeated(() => naive.all(today - 90 * DAY, today), repeats)],
];
const counts = db.$client.prepare("select (select count(*) from funnel_events) events, (select count(*) from funnel_customers) customers").get() as { events: number; customers: number };
const started30 = funnelReport(db, query(30), now).started;

// The page over HTTP, production build
const logins = newDemoLogins();
await seedDemoStaff(db, logins);
db.$client.close();
const app = await startConsole({ ...process.env, NODE_ENV: "production", PORT: "0", DATABASE_PATH: path, LINKDESK_SIMULATORS: "on", SESSION_SECRET: "bench-session-secret-0123456789abcdef", TOKEN_ENCRYPTION_KEY: "ab".repeat(32), CUSTOMER_ID_HMAC_KEY: "bench-hmac-key-0123456789abcdef0123" });
const pm = logins.find((l) => l.role === "pm")!;
const login = await request(`${app.url}/login`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", origin: app.url }, body: new URLSearchParams({ email: pm.email, password: pm.password }).toString() });
await login.body.dump();
const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
async function fetchSize(url: string) {
  const t = performance.now();
  const res = await request(url, { headers: { cookie, "accept-encoding": "identity" } });
  const body = Buffer.from(await res.body.arrayBuffer());
  if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`);
  return { bytes: body.length, ms: performance.now() - t };
}
const html = await fetchSize(`${app.url}/funnel`);
const htmlAgain = await fetchSize(`${app.url}/funnel`);
const dataOnly = await fetchSize(`${app.url}/funnel.data`);
const byInstitution = await fetchSize(`${app.url}/funnel?breakdown=institution`);
await app.close();

const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(10);
console.log(`Loaded ${counts.events.toLocaleString("en-US")} events for ${counts.customers.toLocaleString("en-US")} customers over 90 days in ${loadSeconds.toFixed(1)} s (${Math.round(loaded / loadSeconds).toLocaleString("en-US")} events/s through the recording code).`);
console.log(`30-day cohort: ${started30.toLocaleString("en-US")} customers started. ${repeats} runs each after one warm-up:\n`);
console.log(`${"query".padEnd(58)} ${"p50".padStart(10)} ${"max".padStart(10)}`);
for (const [name, t] of rows) console.log(`${name.padEnd(58)} ${ms(t.p50)} ${ms(t.max)}`);
console.log(`\nGET /funnel (HTML with its data): ${(html.bytes / 1024).toFixed(1)} KB, ${htmlAgain.ms.toFixed(0)} ms end to end (second request)`);
console.log(`GET /funnel?breakdown=institution: ${(byInstitution.bytes / 1024).toFixed(1)} KB`);
console.log(`GET /funnel data only (client navigation): ${(dataOnly.bytes / 1024).toFixed(1)} KB`);
