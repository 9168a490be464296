import { asc, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as checkPage from "../../app/routes/customers_.$hash.check";
import * as receiver from "../../app/routes/webhooks.plaid";
import * as webhooksPage from "../../app/routes/webhooks._index";
import * as reportView from "../../app/routes/reports.$id";
import * as sandboxPage from "../../app/routes/plaid.sandbox";
import * as listPage from "../../app/routes/reports._index";
import * as listCsv from "../../app/routes/reports[.]csv";
import * as customerData from "../../app/routes/api.customer-data";
import { createApiKey } from "../../app/funnel/api-keys.server";
import * as bulkIndex from "../../app/routes/reports.bulk._index";
import * as bulkRunPage from "../../app/routes/reports.bulk.$runId";
import { advanceBulkRuns } from "../../app/reports/bulk-runs.server";
import { applyCheckReportWebhook, dispatchReports } from "../../app/reports/check-reports.server";
import { auditLog, craBulkRuns, craReports, craUsers, funnelEvents, jobs } from "../../db/schema";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { ManualClock } from "../../simulators/shared/clock";
import { createHarness, form, ORIGIN, statusOf, type Harness } from "../support/context";
import { startWebhookReceiver } from "../support/webhook-receiver";

const PLAID = { clientId: "check-client", secret: "check-secret" };
const IDENTITY = { givenName: "Alice", familyName: "Johnson", dateOfBirth: "1988-07-22", phone: "+14155550123", email: "alice@example.com", street: "123 Main St", city: "Anytown", region: "CA", postalCode: "90210" };
const REQUEST = { intent: "regenerate", reason: "customer disputes income figure", purpose: "ACCOUNT_REVIEW_CREDIT", daysRequested: "365", products: "cra_income_insights", billable: "yes" };

let clock: ManualClock;
let sim: PlaidSimulator;
let legacySim: PlaidSimulator;
let hooks: Awaited<ReturnType<typeof startWebhookReceiver>>;
let h: Harness;

beforeAll(async () => {
  clock = new ManualClock();
  // A client on the new User API, and one that began before it (Plaid's choice per client).
  sim = await startPlaidSimulator({ ...PLAID, clock, client: { userApi: "new" }, settings: { reportDelayMs: 10_000 } });
  legacySim = await startPlaidSimulator({ ...PLAID, clock, client: { userApi: "legacy" }, settings: { reportDelayMs: 10_000 } });
  hooks = await startWebhookReceiver();
});
afterAll(async () => {
  await sim.close();
  await legacySim.close();
  await hooks.close();
});

const env = (s: PlaidSimulator, extra: Record<string, string> = {}) => ({ PLAID_BASE_URL: s.url, PLAID_CLIENT_ID: PLAID.clientId, PLAID_SECRET: PLAID.secret, PLAID_WEBHOOK_URL: hooks.url, ...extra });
beforeEach(async () => {
  h = await createHarness(env(sim));
  h.clock.current = new Date(clock.now());
});

async function post(hash: string, values: Record<string, string>) {
  const request = await h.request(`/customers/${hash}/check`, { method: "POST", role: "ops", body: form(values) });
  const out = (await checkPage.action({ request, context: h.context(), params: { hash } })) as { data?: Record<string, unknown>; init?: { status: number } } & Record<string, unknown>;
  return out.init ? { status: out.init.status, ...(out.data as Record<string, unknown>) } : { status: 200, ...out };
}

/** Replays what the simulator delivered into the console's receiver, bytes and signature unchanged. */
async function forwardWebhooks(s: PlaidSimulator) {
  await s.webhooks.idle();
  for (const d of hooks.received.splice(0)) {
    await receiver.action({ request: new Request(`${ORIGIN}/webhooks/plaid`, { method: "POST", headers: { "content-type": "application/json", "plaid-verification": String(d.headers["plaid-verification"]) }, body: d.body.toString() }), context: h.context(), params: {} });
  }
}

async function mintItemFor(s: PlaidSimulator, hash: string, persona = { override_username: "user_bank_income", override_password: "{}" }) {
  const user = h.db.select().from(craUsers).where(eq(craUsers.customerHash, hash)).get()!;
  await fetch(`${s.url}/sandbox/public_token/create`, { method: "POST", body: JSON.stringify({ client_id: PLAID.clientId, secret: PLAID.secret, institution_id: "ins_109508", initial_products: ["transactions"], options: persona, ...(user.generation === "new" ? { user_id: user.userId } : { user_token: (s.state.users.get(user.userId!)!.userToken)! }) }) });
}

describe("Plaid Check", () => {
  it("creates a user, queues a regeneration, sends it once, and turns it ready when the webhook arrives", async () => {
    const hash = "1a".repeat(32);
    expect(await post(hash, { intent: "user", ...IDENTITY })).toMatchObject({ status: 200, ok: true });
    expect(h.db.select().from(craUsers).get()).toMatchObject({ customerHash: hash, generation: "new", userTokenEnc: null });
    await mintItemFor(sim, hash);
    expect(await post(hash, REQUEST)).toMatchObject({ ok: true, message: expect.stringContaining("queued") });
    await dispatchReports(h.context());
    await dispatchReports(h.context());
    expect(sim.state.reports).toHaveLength(1);
    expect(h.db.select().from(craReports).get()).toMatchObject({ status: "pending", plaidRequestId: sim.state.reports[0]!.requestId });
    clock.advance(10_000);
    h.clock.advance(10_000);
    await forwardWebhooks(sim);
    const page = await checkPage.loader({ request: await h.request(`/customers/${hash}/check`, { role: "support" }), context: h.context(), params: { hash } });
    expect(page.reports).toMatchObject([{ state: "ready", failedProducts: [] }]);
    // Sent at T, ready at T+10 s: at T+24 h it has expired, as Plaid counts from the report's creation.
    h.clock.advance(24 * 3600_000 - 10_000);
    const later = await checkPage.loader({ request: await h.request(`/customers/${hash}/check`, { role: "support" }), context: h.context(), params: { hash } });
    expect(later.reports[0]!.state).toBe("expired");
    const listed = async (state: string) => (await listPage.loader({ request: await h.request(`/reports?status=${state}`, { role: "support" }), context: h.context(), params: {} })).rows.map((r: { customerHash: string }) => r.customerHash);
    expect(await listed("expired")).toContain(hash);
    expect(await listed("ready")).not.toContain(hash);
  });

  it("refuses a second request within the cooldown, and bad input beside the field", async () => {
    const hash = "2b".repeat(32);
    await post(hash, { intent: "user", ...IDENTITY });
    expect(await post(hash, { ...REQUEST, billable: "" })).toMatchObject({ status: 400, fieldErrors: { billable: expect.any(String) } });
    expect(await post(hash, { ...REQUEST, daysRequested: "90" })).toMatchObject({ status: 400, fieldErrors: { daysRequested: "Plaid needs at least 180 days" } });
    expect(await post(hash, REQUEST)).toMatchObject({ ok: true });
    expect(await post(hash, REQUEST)).toMatchObject({ status: 409, message: expect.stringContaining("next one can be requested in 60 minutes.") });
    expect(await post("3c".repeat(32), { intent: "user", ...IDENTITY, phone: "+10005550123" })).toMatchObject({ status: 400, fieldErrors: { phone: expect.any(String) } });
  });

  it("keeps under the per-minute cap and sends the queue in order", async () => {
    h = await createHarness(env(sim, { CRA_MAX_PER_MINUTE: "2" }));
    h.clock.current = new Date(clock.now());
    const hashes = ["4d", "5e", "6f"].map((x) => x.repeat(32));
    for (const hash of hashes) {
      await post(hash, { intent: "user", ...IDENTITY });
      await post(hash, REQUEST);
    }
    expect(await dispatchReports(h.context())).toBe(2);
    expect(h.db.select({ customerHash: craReports.customerHash, status: craReports.status }).from(craReports).all()).toEqual([
      { customerHash: hashes[0], status: "pending" },
      { customerHash: hashes[1], status: "pending" },
      { customerHash: hashes[2], status: "queued" },
    ]);
    h.clock.advance(61_000);
    expect(await dispatchReports(h.context())).toBe(1);
  });

  it("works with the older user API and its CHECK_REPORT_FAILED webhook, and explains a reused client_user_id", async () => {
    h = await createHarness(env(legacySim));
    h.clock.current = new Date(clock.now());
    const hash = "7a".repeat(32);
    expect(await post(hash, { intent: "user", ...IDENTITY })).toMatchObject({ ok: true, message: expect.stringContaining("older user API") });
    expect(h.db.select().from(craUsers).get()!.userTokenEnc).toMatch(/^v2:/);
    await post(hash, REQUEST); // no item for this user: Plaid fails the report
    await dispatchReports(h.context());
    clock.advance(10_000);
    await forwardWebhooks(legacySim);
    expect(h.db.select().from(craReports).get()).toMatchObject({ status: "failed", errorCode: "CHECK_REPORT_FAILED" });
    h.db.delete(craReports).run();
    h.db.delete(craUsers).run();
    expect(await post(hash, { intent: "user", ...IDENTITY })).toMatchObject({ status: 409, message: expect.stringContaining("never lets a client_user_id be reused") });
  });

  it("regenerates for Check users the publisher's backend made and registered, in both user generations", async () => {
    for (const [s, hash] of [[sim, "5e".repeat(32)], [legacySim, "6f".repeat(32)]] as const) {
      h = await createHarness(env(s));
      h.clock.current = new Date(clock.now());
      // The publisher's backend creates the user with Plaid itself, never through the console, then registers it.
      const created = (await (await fetch(`${s.url}/user/create`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ client_id: PLAID.clientId, secret: PLAID.secret, client_user_id: `backend-${hash.slice(0, 8)}`}) })).json()) as { user_id: string; user_token?: string };
      const key = createApiKey(h.db, "backend", { actor: { id: h.users.admin.id, email: h.users.admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: h.clock.now() }, ["customer_data"]).secret;
      const entry = { type: "check_user", customer_hash: hash, user_id: created.user_id, ...(created.user_token ? { user_token: created.user_token } : {}) };
      const registered = (await customerData.action({ request: new Request(`${ORIGIN}/api/customer-data`, { method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` }, body: JSON.stringify({ entries: [entry] }) }), context: h.context(), params: {} })) as Response;
      const reg = await registered.json(); expect(reg, JSON.stringify(reg)).toMatchObject({ accepted: 1 });
      await mintItemFor(s, hash);

      expect(await post(hash, REQUEST)).toMatchObject({ ok: true, message: expect.stringContaining("queued") });
      expect(await dispatchReports(h.context())).toBe(1);
      const sent = s.state.reports.at(-1)!;
      expect(s.state.users.get(sent.userKey)!.userId).toBe(created.user_id);
      clock.advance(10_000);
      await forwardWebhooks(s);
      expect(h.db.select().from(craReports).get()).toMatchObject({ customerHash: hash, status: "ready", plaidRequestId: sent.requestId, settledBy: "webhook" });
      const list = await listPage.loader({ request: await h.request(`/reports?customer=${hash}`, { role: "ops" }), context: h.context(), params: {} });
      expect(JSON.stringify(list)).toContain(hash);
    }
  });

  it("flags a request whose webhook never arrived, on the webhooks page", async () => {
    const hash = "8b".repeat(32);
    await post(hash, { intent: "user", ...IDENTITY });
    await post(hash, REQUEST);
    await dispatchReports(h.context());
    hooks.received.splice(0);
    h.clock.advance(31 * 60_000);
    const page = await webhooksPage.loader({ request: await h.request("/webhooks", { role: "support" }), context: h.context(), params: {} });
    expect(page.stuck).toMatchObject([{ customerHash: hash }]);
    // The customer's page offers the probe on the flagged row; Plaid is still generating, so it stays pending.
    const check = await checkPage.loader({ request: await h.request(`/customers/${hash}/check`, { role: "ops" }), context: h.context(), params: { hash } });
    expect(check.reports).toMatchObject([{ state: "stuck" }]);
    expect(await post(hash, { intent: "probe", report: String(check.reports[0]!.id) })).toMatchObject({ ok: true, message: expect.stringContaining("still being generated") });
    expect(await post("9c".repeat(32), { intent: "probe", report: String(check.reports[0]!.id) })).toMatchObject({ status: 404 });
    expect(h.db.select().from(craReports).get()).toMatchObject({ status: "pending", probeCode: "PRODUCT_NOT_READY" });
  });
});

async function reportPage(id: number, role: "support" | "ops" = "support", query = "") {
  return reportView.loader({ request: await h.request(`/reports/${id}${query}`, { role }), context: h.context(), params: { id: String(id) } });
}

async function probe(id: number) {
  const request = await h.request(`/reports/${id}`, { method: "POST", role: "ops", body: form({ intent: "probe" }) });
  const out = (await reportView.action({ request, context: h.context(), params: { id: String(id) } })) as { data?: Record<string, unknown>; init?: { status: number } } & Record<string, unknown>;
  return out.init ? { status: out.init.status, ...(out.data as Record<string, unknown>) } : { status: 200, ...out };
}

/** A user with a bank, one regeneration sent; the simulator's clock moved past the last test's CRA calls. */
async function sentReport(s: PlaidSimulator, hash: string, values: Record<string, string> = {}, persona = { override_username: "user_bank_income", override_password: "{}" }) {
  clock.advance(61_000);
  h.clock.current = new Date(clock.now());
  await post(hash, { intent: "user", ...IDENTITY });
  await mintItemFor(s, hash, persona);
  expect(await post(hash, { ...REQUEST, ...values })).toMatchObject({ ok: true });
  await dispatchReports(h.context());
  return h.db.select().from(craReports).where(eq(craReports.customerHash, hash)).orderBy(desc(craReports.id)).get()!;
}

/** Lets the simulator finish the report, and delivers (or drops) its webhook. */
async function settle(s: PlaidSimulator, deliver = true) {
  clock.advance(10_000);
  h.clock.current = new Date(clock.now());
  if (deliver) await forwardWebhooks(s);
  else {
    await s.webhooks.idle();
    hooks.received.splice(0);
  }
}

describe("Plaid Check report view", () => {
  it("shows a ready report: accounts, balances, days, money in and out, income and partner insights, raw JSON, and audits the read", async () => {
    const hash = "a1".repeat(32);
    const sent = await sentReport(sim, hash, { products: "cra_income_insights,cra_partner_insights" });
    await settle(sim);
    const page = await reportPage(sent.id);
    expect(page.state).toBe("ready");
    // Readable for 24 hours from its creation (when the request went to Plaid), not from when it became ready.
    expect(page.report.completedAt! - page.report.sentAt!).toBe(10_000);
    expect(page.report.expiresAt).toBe(page.report.sentAt! + 24 * 3600_000);
    const base = page.view!.base!;
    if (!base.ok) throw new Error(`base report failed: ${base.error.errorCode}`);
    expect(base.summary.items[0]!.accounts.map((a) => [a.name, a.current, a.daysAvailable])).toEqual([
      ["Plaid Checking", 5350, 365],
      ["Plaid Saving", 12000, 365],
    ]);
    // Six monthly paychecks of 6,250 in; Plaid's negative inflow shown as money in.
    expect(base.summary.moneyIn).toEqual({ amount: 37500, currency: "USD" });
    expect(base.summary.moneyOut!.amount).toBeGreaterThan(0);
    expect(page.view!.income).toMatchObject({ ok: true, summary: { monthlyNetTotal: 6250, streams: [{ payFrequency: "MONTHLY", status: "ACTIVE" }] } });
    expect(page.view!.partner).toMatchObject({ ok: true, summary: { prismStatus: "SUCCESS", cashScore: 658 } });
    expect((base.raw as { report: { report_id: string } }).report.report_id).toBe(base.summary.reportId);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "cra.report_view")).all()).toMatchObject([{ targetId: String(sent.id), customerHash: hash, role: "support" }]);
  });

  it("reads a ready report of an older-API user with its user_token", async () => {
    h = await createHarness(env(legacySim));
    const hash = "a2".repeat(32);
    const sent = await sentReport(legacySim, hash);
    await settle(legacySim);
    const page = await reportPage(sent.id);
    expect(page.user.generation).toBe("legacy");
    expect(page.view!.base).toMatchObject({ ok: true, summary: { items: [{ accounts: [{ name: "Plaid Checking" }, { name: "Plaid Saving" }] }] } });
  });

  it("shows a ready report's failed products without asking Plaid for them", async () => {
    const hash = "a3".repeat(32);
    const sent = await sentReport(sim, hash, {}, { override_username: "user_good", override_password: "pass_good" });
    await settle(sim);
    const page = await reportPage(sent.id);
    expect(page).toMatchObject({ state: "ready", report: { failedProducts: ["cra_income_insights"] } });
    expect(page.view!.base!.ok).toBe(true);
    expect(page.view!.income).toBeNull();
  });

  it("explains a failed report with the Items' errors from /user/items/get", async () => {
    const hash = "a4".repeat(32);
    clock.advance(61_000);
    h.clock.current = new Date(clock.now());
    await post(hash, { intent: "user", ...IDENTITY });
    await mintItemFor(sim, hash);
    const userId = h.db.select().from(craUsers).where(eq(craUsers.customerHash, hash)).get()!.userId;
    const item = [...sim.state.items.values()].find((i) => i.userKey === userId)!;
    await fetch(`${sim.url}/sandbox/item/reset_login`, { method: "POST", body: JSON.stringify({ client_id: PLAID.clientId, secret: PLAID.secret, access_token: item.accessToken }) });
    await post(hash, REQUEST);
    await dispatchReports(h.context());
    await settle(sim);
    const report = h.db.select().from(craReports).where(eq(craReports.customerHash, hash)).get()!;
    const page = await reportPage(report.id);
    expect(page).toMatchObject({ state: "failed", report: { errorCode: "USER_CHECK_REPORT_FAILED" } });
    expect(page.items).toMatchObject({ ok: true, items: [{ itemId: item.itemId, error: { code: "ITEM_LOGIN_REQUIRED" } }] });
    expect(page.view).toBeNull();
  });

  it("shows an expired report by our clock without asking Plaid, and by Plaid's answer when its clock says so first", async () => {
    const hash = "a5".repeat(32);
    const sent = await sentReport(sim, hash);
    await settle(sim);
    // Plaid's clock is a day ahead: it refuses the read; the page says expired and offers the regeneration.
    clock.advance(24 * 3600_000);
    const early = await reportPage(sent.id, "ops");
    expect(early).toMatchObject({ state: "expired", plaidSaysExpired: true, may: { regenerate: true } });
    h.clock.advance(24 * 3600_000);
    const late = await reportPage(sent.id);
    expect(late).toMatchObject({ state: "expired", plaidSaysExpired: false, view: null });
    const check = await checkPage.loader({ request: await h.request(`/customers/${hash}/check?from=${sent.id}`, { role: "ops" }), context: h.context(), params: { hash } });
    expect(check.defaults).toEqual({ purpose: "ACCOUNT_REVIEW_CREDIT", daysRequested: 365, products: ["cra_income_insights"], fromId: sent.id });
  });

  it("probes a request whose webhook never came: PRODUCT_NOT_READY keeps it pending, a report settles it, the late webhook joins it", async () => {
    const hash = "a6".repeat(32);
    const sent = await sentReport(sim, hash);
    h.clock.advance(31 * 60_000);
    expect((await reportPage(sent.id)).state).toBe("stuck");
    expect(await probe(sent.id)).toMatchObject({ ok: true, message: expect.stringContaining("PRODUCT_NOT_READY") });
    expect(h.db.select().from(craReports).where(eq(craReports.id, sent.id)).get()).toMatchObject({ status: "pending", probeCode: "PRODUCT_NOT_READY" });
    // The report is made; its webhook is lost on the way.
    clock.advance(10_000);
    await sim.webhooks.idle();
    const lost = hooks.received.splice(0);
    expect(await probe(sent.id)).toMatchObject({ ok: true, message: expect.stringContaining("webhook never arrived") });
    expect(h.db.select().from(craReports).where(eq(craReports.id, sent.id)).get()).toMatchObject({ status: "ready", settledBy: "probe", probeCode: "READY" });
    expect((await reportPage(sent.id)).state).toBe("ready");
    expect(await probe(sent.id)).toMatchObject({ status: 409, message: "This request is already settled." });
    // Plaid retries the webhook later: it completes the same request instead of adding one.
    hooks.received.push(...lost);
    h.clock.current = new Date(clock.now());
    await forwardWebhooks(sim);
    expect(h.db.select().from(craReports).where(eq(craReports.customerHash, hash)).all()).toMatchObject([{ id: sent.id, status: "ready", webhookEventId: expect.any(Number) }]);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "cra.report_probe")).all()).toHaveLength(2);
    // The funnel's report branch got the report once, from the probe, whatever came after.
    expect(h.db.select().from(funnelEvents).where(eq(funnelEvents.customerHash, hash)).all()).toMatchObject([{ name: "report_ready", eventId: `console:report_ready:${sent.id}` }]);
  });

  it("support cannot probe", async () => {
    const request = await h.request("/reports/1", { method: "POST", role: "support", body: form({ intent: "probe" }) });
    expect(await statusOf(() => reportView.action({ request, context: h.context(), params: { id: "1" } }))).toBe(403);
  });

  it("holds the queue in order when Plaid answers 429, and shows the rate limit on a read without changing anything", async () => {
    const hash = "a7".repeat(32);
    clock.advance(61_000);
    h.clock.current = new Date(clock.now());
    await post(hash, { intent: "user", ...IDENTITY });
    await mintItemFor(sim, hash);
    await post(hash, REQUEST);
    await post("a8".repeat(32), { intent: "user", ...IDENTITY });
    await post("a8".repeat(32), REQUEST);
    sim.context.settings.craRateLimitPerMinute = 0;
    try {
      expect(await dispatchReports(h.context())).toBe(0);
      const [first, second] = h.db.select().from(craReports).orderBy(asc(craReports.id)).all();
      expect(first).toMatchObject({ status: "queued", sentAt: null, errorCode: "RATE_LIMIT", retryAt: new Date(h.clock.now().getTime() + 60_000) });
      expect(second).toMatchObject({ status: "queued", retryAt: null });
      h.clock.advance(30_000);
      expect(await dispatchReports(h.context())).toBe(0); // held: no call at all
    } finally {
      sim.context.settings.craRateLimitPerMinute = 100;
    }
    const before = sim.state.reports.length;
    h.clock.advance(31_000);
    expect(await dispatchReports(h.context())).toBe(2);
    expect(sim.state.reports.length - before).toBe(2);
    await settle(sim);
    const ready = h.db.select().from(craReports).where(eq(craReports.customerHash, hash)).get()!;
    sim.context.settings.craRateLimitPerMinute = 0;
    try {
      const page = await reportPage(ready.id);
      expect(page.state).toBe("ready");
      expect(page.view!.base).toMatchObject({ ok: false, error: { httpStatus: 429, errorCode: "RATE_LIMIT", help: expect.stringContaining("rate limit") } });
    } finally {
      sim.context.settings.craRateLimitPerMinute = 100;
    }
  });

  it("treats a duplicate user: refused here when recorded, and the newer API hands back the same user_id", async () => {
    const hash = "a9".repeat(32);
    expect(await post(hash, { intent: "user", ...IDENTITY })).toMatchObject({ ok: true });
    expect(await post(hash, { intent: "user", ...IDENTITY })).toMatchObject({ status: 409, message: "This customer already has a Plaid Check user." });
    const first = h.db.select().from(craUsers).where(eq(craUsers.customerHash, hash)).get()!;
    h.db.delete(craUsers).where(eq(craUsers.id, first.id)).run();
    expect(await post(hash, { intent: "user", ...IDENTITY })).toMatchObject({ ok: true });
    expect(h.db.select().from(craUsers).where(eq(craUsers.customerHash, hash)).get()!.userId).toBe(first.userId);
  });

  it("mints a sandbox item tied to the customer's Plaid Check user, and refuses when there is none", async () => {
    const hash = "b1".repeat(32);
    const mint = async () => {
      const request = await h.request("/plaid/sandbox", { method: "POST", role: "ops", body: form({ intent: "mint", customer: hash, institution: "ins_109508", products: "transactions", persona: "user_bank_income", webhook: "", checkUser: "yes" }) });
      return (await sandboxPage.action({ request, context: h.context(), params: {} })) as { data?: { fieldErrors?: Record<string, string> }; init?: { status: number } } & Record<string, unknown>;
    };
    const refused = await mint();
    expect(refused.init?.status).toBe(400);
    expect(refused.data?.fieldErrors?.checkUser).toMatch(/no Plaid Check user yet/);
    await post(hash, { intent: "user", ...IDENTITY });
    const userId = h.db.select().from(craUsers).where(eq(craUsers.customerHash, hash)).get()!.userId;
    const before = [...sim.state.items.values()].filter((i) => i.userKey === userId).length;
    expect(await mint()).toMatchObject({ ok: true });
    expect([...sim.state.items.values()].filter((i) => i.userKey === userId).length).toBe(before + 1);
  });
});

describe("Plaid Check ops list", () => {
  it("lists every request, filters by state, age, requester and customer, makes stuck ones stand out, and exports the filter as CSV", async () => {
    clock.advance(61_000);
    h.clock.current = new Date(clock.now());
    const [stuckHash, queuedHash, plaidHash] = ["c1", "c2", "c3"].map((x) => x.repeat(32)) as [string, string, string];
    for (const hash of [stuckHash, queuedHash, plaidHash]) await post(hash, { intent: "user", ...IDENTITY });
    await post(stuckHash, REQUEST);
    await dispatchReports(h.context());
    h.clock.advance(2 * 3600_000);
    const asAdmin = await h.request(`/customers/${queuedHash}/check`, { method: "POST", role: "admin", body: form(REQUEST) });
    await checkPage.action({ request: asAdmin, context: h.context(), params: { hash: queuedHash } });
    // Plaid builds a report on its own after a Link session: it arrives with no request behind it.
    const plaidUser = h.db.select().from(craUsers).where(eq(craUsers.customerHash, plaidHash)).get()!;
    applyCheckReportWebhook(h.db, { webhook_code: "USER_CHECK_REPORT_READY", user_id: plaidUser.userId, successful_products: ["cra_base_report"] }, null, h.clock.now());

    const list = async (query = "") => listPage.loader({ request: await h.request(`/reports${query}`, { role: "support" }), context: h.context(), params: {} });
    const all = await list();
    expect(all.rows.map((r) => [r.customerHash, r.state])).toEqual([
      [plaidHash, "ready"],
      [queuedHash, "queued"],
      [stuckHash, "stuck"],
    ]);
    expect(all.counts).toMatchObject({ stuck: 1, queued: 1, ready: 1, pending: 0 });
    expect((await list("?status=stuck")).rows.map((r) => r.customerHash)).toEqual([stuckHash]);
    expect((await list(`?requester=${h.users.admin.id}`)).rows.map((r) => r.customerHash)).toEqual([queuedHash]);
    expect((await list("?requester=plaid")).rows.map((r) => r.customerHash)).toEqual([plaidHash]);
    expect((await list(`?customer=${stuckHash.toUpperCase()}`)).rows.map((r) => r.id)).toHaveLength(1);
    expect((await list("?age=1h")).rows.map((r) => r.customerHash)).toEqual([plaidHash, queuedHash]);
    const bad = await list("?status=lost&customer=abc");
    expect(bad.errors).toEqual({ status: expect.stringContaining("Choose a state"), customer: "A customer hash is 64 hex characters" });
    expect(bad.rows).toHaveLength(3);

    const csv = await listCsv.loader({ request: await h.request("/reports.csv?status=stuck", { role: "support" }), context: h.context(), params: {} });
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toMatch(/^report,state,customer_hash,requested_by/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(new RegExp(`^\\d+,stuck,${stuckHash},ops@example.test,`))]);
  });
});

describe("Plaid Check bulk regeneration", () => {
  const BULK = { reason: "quarterly account review", purpose: "ACCOUNT_REVIEW_CREDIT", daysRequested: "365", products: "cra_income_insights", billable: "yes" };

  async function startRun(body: URLSearchParams | FormData, role: "ops" | "support" = "ops") {
    const request = await h.request("/reports/bulk", { method: "POST", role, body });
    return bulkIndex.action({ request, context: h.context(), params: {} });
  }
  const runPage = async (id: number, query = "") => bulkRunPage.loader({ request: await h.request(`/reports/bulk/${id}${query}`, { role: "support" }), context: h.context(), params: { runId: String(id) } });

  it("works a pasted list a bounded number at a time, with a result for every line, and finishes when the last is queued", async () => {
    h = await createHarness(env(sim, { CRA_BULK_CONCURRENCY: "2" }));
    clock.advance(61_000);
    h.clock.current = new Date(clock.now());
    const [a, b, c, noUser, cooling] = ["d1", "d2", "d3", "d4", "d5"].map((x) => x.repeat(32)) as [string, string, string, string, string];
    for (const hash of [a, b, c, cooling]) await post(hash, { intent: "user", ...IDENTITY });
    for (const hash of [a, b, c]) await mintItemFor(sim, hash);
    await post(cooling, REQUEST);
    await dispatchReports(h.context());
    const list = ["customer_hash", a, "not-a-hash", noUser, `"${a.toUpperCase()}"`, "", cooling, `${b},extra,columns`, c].join("\n");
    const started = (await startRun(form({ ...BULK, list }))) as Response;
    expect(started.status).toBe(302);
    const runId = Number(started.headers.get("location")!.split("/").pop());

    expect(advanceBulkRuns(h.context())).toBe(2);
    const first = await runPage(runId);
    expect(first.lines.map((l) => [l.position, l.outcome, l.message])).toEqual([
      [2, "queued", expect.stringMatching(/^Queued as report #\d+$/)],
      [3, "invalid", "Not a customer hash: a hash is 64 hex characters"],
      [4, "no_user", expect.stringContaining("No Plaid Check user")],
      [5, "duplicate", "Listed already on line 2"],
      [7, "cooldown", expect.stringContaining("Skipped (cooldown)")],
      [8, "queued", expect.stringMatching(/^Queued as report #\d+$/)],
      [9, "waiting", null],
    ]);
    expect(first).toMatchObject({ run: { status: "running", total: 7 }, byState: { queued: 2 } });
    // The run's row in the jobs table carries the same progress: six of seven lines decided.
    const bulkJob = () => h.db.select().from(jobs).where(eq(jobs.kind, "cra_bulk_run")).all();
    expect(bulkJob()).toEqual([expect.objectContaining({ status: "running", params: { runId }, progressDone: 6, progressTotal: 7, result: { queued: 2, invalid: 1, no_user: 1, duplicate: 1, cooldown: 1, waiting: 1 } })]);
    // Two reports in flight (queued, then sent and awaiting the webhook): the third line waits.
    expect(advanceBulkRuns(h.context())).toBe(0);
    expect(await dispatchReports(h.context())).toBe(2);
    expect(advanceBulkRuns(h.context())).toBe(0);
    await settle(sim);
    expect(advanceBulkRuns(h.context())).toBe(1);
    advanceBulkRuns(h.context());
    const done = await runPage(runId);
    expect(done).toMatchObject({ run: { status: "finished" }, byOutcome: { queued: 3, waiting: 0 }, byState: { ready: 2, queued: 1 } });
    expect(bulkJob()).toEqual([expect.objectContaining({ status: "finished", progressDone: 7, result: { queued: 3, invalid: 1, no_user: 1, duplicate: 1, cooldown: 1 }, finishedAt: expect.any(Date) })]);
    expect((await runPage(runId, "?outcome=queued")).lines.map((l) => l.customerHash)).toEqual([a, b, c]);
    const requests = h.db.select().from(auditLog).where(eq(auditLog.action, "cra.report_request")).all();
    expect(requests.filter((e) => (e.details as { bulkRunId?: number }).bulkRunId === runId).map((e) => e.customerHash)).toEqual([a, b, c]);
  });

  it("takes an uploaded file, explains bad input beside the field, and lets ops cancel what is not yet queued", async () => {
    h = await createHarness(env(sim, { CRA_BULK_CONCURRENCY: "1" }));
    const hashes = ["e1", "e2", "e3"].map((x) => x.repeat(32));
    for (const hash of hashes) await post(hash, { intent: "user", ...IDENTITY });
    const missing = (await startRun(form({ ...BULK, list: "" }))) as { data: { fieldErrors: Record<string, string> }; init: { status: number } };
    expect(missing.init.status).toBe(400);
    expect(missing.data.fieldErrors.list).toBe("Paste customer hashes, one per line, or upload a file of them");
    const unconfirmed = (await startRun(form({ ...BULK, list: hashes[0]!, billable: "" }))) as { data: { fieldErrors: Record<string, string> } };
    expect(unconfirmed.data.fieldErrors.billable).toMatch(/billable/);
    const nothing = (await startRun(form({ ...BULK, list: "zzz\nnope" }))) as { data: { fieldErrors: Record<string, string> } };
    expect(nothing.data.fieldErrors.list).toMatch(/no customer hash/);
    expect(h.db.select().from(craBulkRuns).all()).toHaveLength(0);

    const upload = new FormData();
    for (const [k, v] of Object.entries(BULK)) upload.set(k, v);
    upload.set("file", new File([`customer_hash\r\n${hashes.join("\r\n")}\r\n`], "hashes.csv", { type: "text/csv" }));
    const started = (await startRun(upload)) as Response;
    const runId = Number(started.headers.get("location")!.split("/").pop());
    expect(advanceBulkRuns(h.context())).toBe(1);
    const request = await h.request(`/reports/bulk/${runId}`, { method: "POST", role: "ops", body: form({ intent: "cancel" }) });
    expect(await bulkRunPage.action({ request, context: h.context(), params: { runId: String(runId) } })).toMatchObject({ ok: true, message: expect.stringContaining("2 lines that were not yet queued") });
    expect(advanceBulkRuns(h.context())).toBe(0);
    expect(await runPage(runId)).toMatchObject({ run: { status: "cancelled" }, byOutcome: { queued: 1, cancelled: 2 } });
    expect(h.db.select().from(jobs).where(eq(jobs.kind, "cra_bulk_run")).get()).toMatchObject({ status: "cancelled", progressDone: 3, result: { queued: 1, cancelled: 2 } });
    expect(await statusOf(() => startRun(form({ ...BULK, list: hashes[0]! }), "support"))).toBe(403);
  });
});
