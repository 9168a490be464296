// Whether the customer page waits on its vendors, measured over HTTP against the production build. A console with
// both simulators is started on a fresh database; a few customers are played through Link, Plaid and Cardlytics by
// the traffic generator, which registers their items (with access tokens), Link sessions and processor tokens, so
// each page asks Cardlytics and Plaid live. Then, for each vendor latency (both simulators slowed on every endpoint,
// or never answering), the page of a customer with an item is fetched as a signed-in support agent and timed to its
// first byte, to the stored state (the customer's header, items and Link sessions in the first flush), and to its
// end (every streamed vendor answer in). /healthz in the same run is the bare baseline.
// Usage: npm run build && npx tsx bench/customer-page-stream.ts [iterations]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { createApiKey } from "../app/funnel/api-keys.server";
import { runMigrations } from "../db/migrate";
import { openDatabase } from "../db/open";
import { newDemoLogins, seedDemoStaff } from "../db/seed";
import { startConsole } from "../server/main";
import { playTraffic } from "../simulators/traffic";

const iterations = Number(process.argv[2] ?? 8);
const dir = mkdtempSync(join(tmpdir(), "linkdesk-bench-stream-"));
const env: NodeJS.ProcessEnv & Record<"DATABASE_PATH" | "CUSTOMER_ID_HMAC_KEY", string> = {
  ...process.env,
  NODE_ENV: "production",
  DATABASE_PATH: join(dir, "linkdesk.db"),
  SESSION_SECRET: "s".repeat(40),
  TOKEN_ENCRYPTION_KEY: "e".repeat(64),
  CUSTOMER_ID_HMAC_KEY: "bench-stream-hmac-key-0123456789abcdef",
  LINKDESK_SIMULATORS: "on",
  PORT: "0",
  LOG_LEVEL: "silent", // the table is the output
};

const db = openDatabase(env.DATABASE_PATH);
runMigrations(db);
const logins = newDemoLogins();
await seedDemoStaff(db, logins);
const support = logins.find((l) => l.role === "support")!;
const admin = db.$client.prepare("select id, email from staff_users where role = 'admin'").get() as { id: number; email: string };
const apiKey = createApiKey(db, "bench backend", { actor: { id: admin.id, email: admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: new Date() }, ["events", "customer_data"]).secret;
db.$client.close();

const running = await startConsole(env);
const sims = running.simulators!;
const outcomes = await playTraffic({
  customers: 6,
  plaid: { baseUrl: sims.plaid.url, ...sims.credentials.plaid },
  cardlytics: { baseUrl: sims.cardlytics.url, ...sims.credentials.cardlytics },
  customerIdHmacKey: env.CUSTOMER_ID_HMAC_KEY,
  webhookUrl: running.config.plaid.webhookUrl ?? null,
  events: { baseUrl: running.url, apiKey },
});
const customer = outcomes.find((o) => o.itemId && o.linkSessionId);
if (!customer) throw new Error("the traffic made no customer with an item and a Link session");

const signIn = await request(`${running.url}/login`, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", origin: running.url },
  body: new URLSearchParams({ email: support.email, password: support.password }).toString(),
});
await signIn.body.dump();
const cookie = [signIn.headers["set-cookie"]].flat().filter(Boolean).map((c) => String(c).split(";")[0]).join("; ");
if (signIn.statusCode !== 302 || !cookie) throw new Error(`sign-in answered ${signIn.statusCode}`);

type Sample = { firstByte: number; stored: number; end: number };

/** Reads the answer as it streams, noting when the first byte and the stored-state marker arrive. */
async function timed(path: string, marker: string): Promise<Sample> {
  const started = performance.now();
  const res = await request(`${running.url}${path}`, { headers: { cookie }, bodyTimeout: 60_000, headersTimeout: 60_000 });
  if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}`);
  let firstByte = Number.NaN;
  let stored = Number.NaN;
  let text = "";
  for await (const chunk of res.body) {
    if (Number.isNaN(firstByte)) firstByte = performance.now() - started;
    text += (chunk as Buffer).toString("utf8");
    if (Number.isNaN(stored) && text.includes(marker)) stored = performance.now() - started;
  }
  return { firstByte, stored, end: performance.now() - started };
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function setFaults(fault: Record<string, unknown> | null) {
  for (const url of [sims.plaid.url, sims.cardlytics.url]) {
    await request(`${url}/__sim/faults`, { method: "DELETE" }).then((r) => r.body.dump());
    if (fault) await request(`${url}/__sim/faults`, { method: "POST", body: JSON.stringify({ "*": fault }) }).then((r) => r.body.dump());
  }
}

// The stored state: the customer's own header and the registered Link session, both rendered before any vendor answer.
const page = `/customers/${customer.hash}`;
const marker = `id="link-${customer.linkSessionId}"`;
console.log(`customer page over HTTP (production build), ${iterations} fetches per case, times in ms; /healthz is the baseline`);
console.log("vendors                 | first byte p50 | p90   | stored state p50 | p90   | whole page p50 | p90");
const cases: [string, Record<string, unknown> | null][] = [
  ["answering at once", null],
  ["1000 ms slow", { latencyMs: 1000 }],
  ["5000 ms slow", { latencyMs: 5000 }],
  ["never answering", { dropRate: 1 }],
];
for (const [name, fault] of cases) {
  await setFaults(fault);
  await timed(page, marker); // warm
  const base: Sample[] = [];
  const samples: Sample[] = [];
  for (let i = 0; i < iterations; i++) {
    base.push(await timed("/healthz", ""));
    samples.push(await timed(page, marker));
  }
  const row = [pct(samples.map((s) => s.firstByte), 50), pct(samples.map((s) => s.firstByte), 90), pct(samples.map((s) => s.stored), 50), pct(samples.map((s) => s.stored), 90), pct(samples.map((s) => s.end), 50), pct(samples.map((s) => s.end), 90)];
  console.log(`${name.padEnd(23)} | ${row.map((v, i) => v.toFixed(1).padStart(i % 2 ? 5 : 14)).join(" | ")}   (healthz p50 ${pct(base.map((s) => s.end), 50).toFixed(1)})`);
}
await setFaults(null);
await running.close();
