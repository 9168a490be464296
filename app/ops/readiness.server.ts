import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PlaidApi } from "plaid";
import type { Db } from "../../db/open";
import { migrationsFolder } from "../../db/migrate";
import type { CardlyticsClient } from "../cardlytics/client.server";
import { plaidCall, PlaidCallError } from "../plaid/client.server";
import { checkQueueState } from "../reports/check-reports.server";

export type Check = { ok: boolean; detail: string };
export type Readiness = { ready: boolean; failing: string[]; checks: Record<"database" | "migrations" | "plaid" | "cardlytics" | "checkQueue", Check> };
export type ReadinessDeps = { db: Db; plaid: PlaidApi; cardlytics: CardlyticsClient; now: () => Date; maxQueueLagMs: number };

/** How long a vendor's answer is reused: probes come every few seconds, the vendors are asked at most this often. */
export const VENDOR_CHECK_TTL_MS = 30_000;

const expectedMigrations = (() => {
  let cached: number | null = null;
  return () => (cached ??= (JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as { entries: unknown[] }).entries.length);
})();

function database(db: Db): Check {
  try {
    // Taking the write lock and letting it go proves the file is writable without writing anything.
    db.$client.exec("BEGIN IMMEDIATE; ROLLBACK;");
    return { ok: true, detail: "writable" };
  } catch (error) {
    return { ok: false, detail: `not writable: ${(error as Error).message}` };
  }
}

function migrations(db: Db): Check {
  try {
    const applied = (db.$client.prepare("select count(*) as n from __drizzle_migrations").get() as { n: number }).n;
    const expected = expectedMigrations();
    return applied === expected ? { ok: true, detail: `${applied} applied` } : { ok: false, detail: `${applied} of ${expected} migrations applied` };
  } catch (error) {
    return { ok: false, detail: `migrations unreadable: ${(error as Error).message}` };
  }
}

async function plaidCheck(plaid: PlaidApi): Promise<Check> {
  // An authenticated call that changes nothing: asking for a key id that does not exist. Plaid checks the client id
  // and secret first, so INVALID_API_KEYS means ours are wrong; the expected "no such key" means they are right.
  try {
    await plaidCall(() => plaid.webhookVerificationKeyGet({ key_id: "linkdesk-readiness-probe" }));
    return { ok: true, detail: "credentials accepted" };
  } catch (error) {
    if (!(error instanceof PlaidCallError)) return { ok: false, detail: (error as Error).message };
    const f = error.failure;
    if (f.errorCode === "INVALID_API_KEYS") return { ok: false, detail: "credentials rejected (INVALID_API_KEYS)" };
    if (f.errorType === "NETWORK" || (f.httpStatus ?? 0) >= 500 || f.httpStatus === 429) return { ok: false, detail: `${f.errorCode}${f.requestId ? ` (request ${f.requestId})` : ""}` };
    return { ok: true, detail: "credentials accepted" };
  }
}

async function cardlyticsCheck(cardlytics: CardlyticsClient): Promise<Check> {
  const r = await cardlytics.checkCredentials();
  return r.ok ? { ok: true, detail: "credentials accepted" } : { ok: false, detail: `${r.reason.replace("-", " ")} (request ${r.requestId})` };
}

function checkQueue(db: Db, now: number, maxLagMs: number): Check {
  const { queued, oldestRequestedAt } = checkQueueState(db);
  const lag = oldestRequestedAt ? now - oldestRequestedAt : 0;
  const detail = `${queued} queued${oldestRequestedAt ? `, oldest ${Math.round(lag / 1000)} s` : ""}`;
  return lag > maxLagMs ? { ok: false, detail: `${detail}: more than ${Math.round(maxLagMs / 60_000)} min behind` } : { ok: true, detail };
}

const vendorCache = new WeakMap<object, { at: number; value: Promise<{ plaid: Check; cardlytics: Check }> }>();

/** Each part on its own. The database and queue are read on every call; the vendors at most every 30 s. */
export async function readiness(deps: ReadinessDeps): Promise<Readiness> {
  const now = deps.now().getTime();
  let vendors = vendorCache.get(deps.plaid);
  if (!vendors || now - vendors.at > VENDOR_CHECK_TTL_MS) {
    vendors = { at: now, value: Promise.all([plaidCheck(deps.plaid), cardlyticsCheck(deps.cardlytics)]).then(([plaid, cardlytics]) => ({ plaid, cardlytics })) };
    vendorCache.set(deps.plaid, vendors);
  }
  const checks = { database: database(deps.db), migrations: migrations(deps.db), ...(await vendors.value), checkQueue: checkQueue(deps.db, now, deps.maxQueueLagMs) };
  const failing = Object.entries(checks).filter(([, c]) => !c.ok).map(([name]) => name);
  return { ready: failing.length === 0, failing, checks };
}
