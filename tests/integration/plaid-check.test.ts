import { eq } from "drizzle-orm";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as checkPage from "../../app/routes/customers_.$hash.check";
import * as receiver from "../../app/routes/webhooks.plaid";
import * as webhooksPage from "../../app/routes/webhooks._index";
import { dispatchReports } from "../../app/reports/check-reports.server";
import { craReports, craUsers } from "../../db/schema";
import { startPlaidSimulator, type PlaidSimulator } from "../../simulators/plaid/server";
import { ManualClock } from "../../simulators/shared/clock";
import { createHarness, form, ORIGIN, type Harness } from "../support/context";
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
  sim = await startPlaidSimulator({ ...PLAID, clock, settings: { reportDelayMs: 10_000 } });
  legacySim = await startPlaidSimulator({ ...PLAID, clock, settings: { defaultUserApi: "legacy", reportDelayMs: 10_000 } });
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

async function mintItemFor(s: PlaidSimulator, hash: string) {
  const user = h.db.select().from(craUsers).where(eq(craUsers.customerHash, hash)).get()!;
  await fetch(`${s.url}/sandbox/public_token/create`, { method: "POST", body: JSON.stringify({ client_id: PLAID.clientId, secret: PLAID.secret, institution_id: "ins_109508", initial_products: ["transactions"], options: { override_username: "user_bank_income", override_password: "{}" }, ...(user.generation === "new" ? { user_id: user.userId } : { user_token: (s.state.users.get(user.userId)!.userToken)! }) }) });
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
    await forwardWebhooks(sim);
    const page = await checkPage.loader({ request: await h.request(`/customers/${hash}/check`, { role: "support" }), context: h.context(), params: { hash } });
    expect(page.reports).toMatchObject([{ state: "ready", failedProducts: [] }]);
    h.clock.advance(24 * 3600_000);
    const later = await checkPage.loader({ request: await h.request(`/customers/${hash}/check`, { role: "support" }), context: h.context(), params: { hash } });
    expect(later.reports[0]!.state).toBe("expired");
  });

  it("refuses a second request within the cooldown, and bad input beside the field", async () => {
    const hash = "2b".repeat(32);
    await post(hash, { intent: "user", ...IDENTITY });
    expect(await post(hash, { ...REQUEST, billable: "" })).toMatchObject({ status: 400, fieldErrors: { billable: expect.any(String) } });
    expect(await post(hash, { ...REQUEST, daysRequested: "90" })).toMatchObject({ status: 400, fieldErrors: { daysRequested: "Plaid needs at least 180 days" } });
    expect(await post(hash, REQUEST)).toMatchObject({ ok: true });
    expect(await post(hash, REQUEST)).toMatchObject({ status: 409, message: expect.stringContaining("next one can be requested in 60 minute(s)") });
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
    expect(h.db.select().from(craUsers).get()!.userTokenEnc).toMatch(/^v1:/);
    await post(hash, REQUEST); // no item for this user: Plaid fails the report
    await dispatchReports(h.context());
    clock.advance(10_000);
    await forwardWebhooks(legacySim);
    expect(h.db.select().from(craReports).get()).toMatchObject({ status: "failed", errorCode: "CHECK_REPORT_FAILED" });
    h.db.delete(craReports).run();
    h.db.delete(craUsers).run();
    expect(await post(hash, { intent: "user", ...IDENTITY })).toMatchObject({ status: 409, message: expect.stringContaining("never lets a client_user_id be reused") });
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
  });
});
