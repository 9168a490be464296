import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import * as customerPage from "../../app/routes/customers.$hash/route";
import { expiringAccounts } from "../../app/cardlytics/account-links.server";
import { accountLinkChecks, auditLog, cardlyticsAccounts } from "../../db/schema";
import { createHarness, statusOf } from "../support/context";
import { simulatorHarness } from "../support/simulators";

const HMAC_KEY = "customer-page-test-hmac-key-0000000000000";
const t = simulatorHarness(HMAC_KEY);

/** The page's data with its streamed parts settled, as the browser ends up with it. */
async function view(hash: string, query = "", role: "support" | "ops" = "support") {
  const page = await customerPage.loader({ request: await t.h.request(`/customers/${hash}${query}`, { role }), context: t.h.context(), params: { hash } });
  const live = await page.cardlytics;
  if (live.state !== "answered") throw new Error("Cardlytics did not answer within the page's wait");
  return { ...page, live, accounts: live.accounts, checks: live.checks, verdict: await page.verdict, escalation: await page.escalation, timeline: page.timeline.entries };
}

describe("customer page", () => {
  it("shows the expiring account with its state and an at-risk verdict, and stores the check", async () => {
    const hash = t.sims.hashOf("demo-expiring");
    const page = await view(hash);
    expect(page.verdict).toMatchObject({ answer: "at-risk", code: "expiring-soon" });
    expect(page.accounts).toMatchObject([{ fiName: "Tartan Bank", last4: "4821", status: "OPEN", state: "expiring" }]);
    expect(page.live).toMatchObject({ ok: true });
    const stored = t.h.db.select().from(accountLinkChecks).where(eq(accountLinkChecks.customerHash, hash)).all();
    expect(stored).toMatchObject([{ outcome: "linked", httpStatus: 200, requestId: page.live.requestId, mockData: false }]);
    expect(t.h.db.select().from(auditLog).where(eq(auditLog.customerHash, hash)).all().map((e) => e.action)).toEqual(["customer.view"]);
    expect(page.escalation).toContain(`x-source-customer-id: ${hash}`);
    expect(page.escalation).toContain(page.live.requestId);
  });

  it.each([
    ["demo-open", "yes", "earning"],
    ["demo-expired", "no", "expired"],
    ["demo-closed", "no", "not-open"],
    ["demo-fraud", "no", "not-open"],
    ["demo-none", "no", "no-linked-account"],
  ])("%s: verdict %s (%s)", async (rawId, answer, code) => {
    expect((await view(t.sims.hashOf(rawId))).verdict).toMatchObject({ answer, code });
  });

  it("when Cardlytics fails, still renders from what is stored, with the request id, and loses nothing", async () => {
    const hash = t.sims.hashOf("demo-two-cards");
    await view(hash);
    t.sims.cardlyticsFaults.set("/v2/data/accountLink", { errorRate: 1 });
    const page = await view(hash);
    expect(page.live).toMatchObject({ ok: false, reason: "server-error", httpStatus: 503, requestId: expect.any(String), lastKnownAt: expect.any(Number) });
    expect(page.accounts.map((a) => a.status).sort()).toEqual(["CLOSED", "OPEN"]);
    expect(page.verdict.code).toBe("cardlytics-unreachable");
    expect(page.checks.map((c) => c.outcome)).toEqual(["failed", "linked"]);
    expect(t.h.db.select().from(cardlyticsAccounts).where(eq(cardlyticsAccounts.customerHash, hash)).all()).toHaveLength(2);
  });

  it("marks the check where the accounts changed", async () => {
    const hash = t.sims.hashOf("demo-open");
    await view(hash);
    await view(hash);
    t.sims.cardlytics.state.customers.get(hash)![0]!.status = "CLOSED";
    const page = await view(hash);
    expect(page.checks.map((c) => c.changed)).toEqual([true, false, false]);
    // The timeline is the stored state when the page began: the two earlier checks; this view's check streams in.
    expect(page.timeline.filter((e) => e.kind === "check")).toHaveLength(2);
    expect(page.timeline.filter((e) => e.kind === "staff")).toHaveLength(3);
  });

  it("asks for mock data only when told, and mock answers never replace the stored accounts", async () => {
    const hash = t.sims.hashOf("demo-none");
    const page = await view(hash, "?mock=1");
    expect(page.verdict.code).toBe("mock-data");
    expect(page.accounts).toMatchObject([{ fiName: "Mock Bank" }]);
    expect(t.h.db.select().from(cardlyticsAccounts).where(eq(cardlyticsAccounts.customerHash, hash)).all()).toHaveLength(0);
  });

  it("refuses mock data in production", async () => {
    t.h = await createHarness({ ...t.sims.env, CUSTOMER_ID_HMAC_KEY: HMAC_KEY, PLAID_ENV: "production" });
    expect(await statusOf(() => view(t.sims.hashOf("demo-open"), "?mock=1"))).toBe(400);
  });

  it("feeds the expiring-links list from the latest checks", async () => {
    for (const raw of ["demo-open", "demo-expiring", "demo-expired", "demo-two-cards", "demo-closed"]) await view(t.sims.hashOf(raw));
    const rows = expiringAccounts(t.h.db, { until: new Date(t.h.clock.now().getTime() + 30 * 86_400_000), sort: "expiration", limit: 50 });
    expect(rows.map((r) => r.customerHash)).toEqual([t.sims.hashOf("demo-expired"), t.sims.hashOf("demo-expiring"), t.sims.hashOf("demo-two-cards")]);
  });
});
