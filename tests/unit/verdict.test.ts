import { describe, expect, it } from "vitest";
import type { CardlyticsAccount } from "../../app/cardlytics/client.server";
import { verdictFor, type VerdictInput } from "../../app/customers/verdict";

const now = Date.parse("2026-11-22T12:00:00Z");
const DAY = 86_400_000;
const acct = (status: string, expiresIn: number | null): CardlyticsAccount => ({ accountId: `a-${status}-${expiresIn}`, status, last4: "1234", cardType: "checking", name: "Checking", fiName: "Tartan Bank", linkedDate: null, expirationDate: expiresIn === null ? null : now + expiresIn * DAY });
const linked = (...accounts: CardlyticsAccount[]): VerdictInput["cardlytics"] => ({ outcome: "linked", accounts });
const base = { now, expiringWithinDays: 14, mockData: false };

describe("verdict table", () => {
  it.each<[string, Partial<VerdictInput>, string, string]>([
    ["mock data on wins over everything", { mockData: true, cardlytics: linked(acct("OPEN", 100)) }, "unknown", "mock-data"],
    ["credentials rejected", { cardlytics: { outcome: "failed", reason: "credentials-rejected", requestId: "r1" } }, "unknown", "credentials-rejected"],
    ["Cardlytics timing out", { cardlytics: { outcome: "failed", reason: "timeout", requestId: "r2" } }, "unknown", "cardlytics-unreachable"],
    ["a 5xx", { cardlytics: { outcome: "failed", reason: "server-error", requestId: "r3" } }, "unknown", "cardlytics-unreachable"],
    ["no linked account", { cardlytics: { outcome: "none" } }, "no", "no-linked-account"],
    ["no linked account though a processor token was connected", { cardlytics: { outcome: "none" }, connectedProcessorTokens: 1 }, "no", "connected-under-another-id"],
    ["no linked account, the Cardlytics integration refused", { cardlytics: { outcome: "none" }, connectedProcessorTokens: 1, cardlyticsIntegrationRefused: { requestId: "r9" } }, "no", "cardlytics-integration-off"],
    ["a status the documents do not list (a failing feed)", { cardlytics: linked(acct("ERROR", 100)) }, "no", "not-open"],
    ["never checked", { cardlytics: { outcome: "unknown" } }, "unknown", "never-checked"],
    ["an OPEN account far from expiry", { cardlytics: linked(acct("OPEN", 100)) }, "yes", "earning"],
    ["an OPEN account with no expiration date", { cardlytics: linked(acct("OPEN", null)) }, "yes", "earning"],
    ["an OPEN account expiring in 3 days", { cardlytics: linked(acct("OPEN", 3)) }, "at-risk", "expiring-soon"],
    ["an OPEN account that expired", { cardlytics: linked(acct("OPEN", -60)) }, "no", "expired"],
    ["CLOSED", { cardlytics: linked(acct("CLOSED", 100)) }, "no", "not-open"],
    ["FRAUD and DISPUTE", { cardlytics: linked(acct("FRAUD", 100), acct("DISPUTE", 100)) }, "no", "not-open"],
    ["one OPEN among CLOSED ones", { cardlytics: linked(acct("CLOSED", 100), acct("OPEN", 100)) }, "yes", "earning"],
    ["expired and expiring: the expiring one matters", { cardlytics: linked(acct("OPEN", -5), acct("OPEN", 5)) }, "at-risk", "expiring-soon"],
    ["item removed", { cardlytics: linked(acct("OPEN", 100)), items: [{ itemId: "i", institution: null, status: "removed" }] }, "no", "item-removed"],
    ["item needs login", { cardlytics: linked(acct("OPEN", 100)), items: [{ itemId: "i", institution: null, status: "login-required" }] }, "at-risk", "item-login-required"],
    ["item permission revoked", { cardlytics: linked(acct("OPEN", 100)), items: [{ itemId: "i", institution: null, status: "permission-revoked" }] }, "no", "item-permission-revoked"],
    ["item pending disconnect", { cardlytics: linked(acct("OPEN", 100)), items: [{ itemId: "i", institution: null, status: "pending-disconnect" }] }, "at-risk", "item-pending-disconnect"],
  ])("%s", (_case, input, answer, code) => {
    const verdict = verdictFor({ ...base, cardlytics: { outcome: "unknown" }, ...input });
    expect(verdict).toMatchObject({ answer, code });
    expect(verdict.cause.length).toBeGreaterThan(10);
    expect(verdict.nextStep.length).toBeGreaterThan(10);
  });

  it("points an unlisted status at the Plaid item, and a known one at Cardlytics", () => {
    expect(verdictFor({ ...base, cardlytics: linked(acct("ERROR", 100)) }).nextStep).toContain("Plaid item");
    expect(verdictFor({ ...base, cardlytics: linked(acct("CLOSED", 100)) }).nextStep).not.toContain("Plaid item");
  });

  it("names the request id when Cardlytics is unreachable", () => {
    expect(verdictFor({ ...base, cardlytics: { outcome: "failed", reason: "timeout", requestId: "req-77" } }).nextStep).toContain("req-77");
  });
});
