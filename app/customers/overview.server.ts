import type { AppContext } from "../context";
import { checkAccountLink, checkHistory, knownAccounts, type StoredCheck } from "../cardlytics/account-links.server";
import type { CardlyticsAccount } from "../cardlytics/client.server";
import { classifyAccount } from "../cardlytics/expiry";
import { listAudit, recordAudit, type Actor } from "../staff/audit.server";
import { verdictFor } from "./verdict";
import { itemsOfCustomer } from "../plaid/items.server";
import { webhooksOfCustomer } from "../webhooks/history.server";

export type TimelineEvent = { at: number; kind: "check" | "staff" | "item" | "webhook"; title: string; detail: string | null; requestId: string | null };

function accountsSignature(check: Pick<StoredCheck, "outcome" | "accounts">): string {
  if (check.outcome === "failed") return "failed";
  const accounts = (check.accounts ?? []) as CardlyticsAccount[];
  return accounts.map((a) => `${a.accountId}:${a.status}:${a.expirationDate}`).sort().join("|") || "none";
}

function describeCheck(c: StoredCheck): string {
  if (c.outcome === "none") return "No linked account (204)";
  if (c.outcome === "failed") return `Failed: ${c.failureReason}${c.httpStatus ? ` (HTTP ${c.httpStatus})` : ""}`;
  const accounts = (c.accounts ?? []) as CardlyticsAccount[];
  return `${accounts.length} account(s): ${accounts.map((a) => `${a.fiName ?? "?"} ••${a.last4 ?? "??"} ${a.status}`).join(", ")}`;
}

/**
 * Everything the customer page shows. The Cardlytics call starts first; the database reads happen while it is in
 * flight. Every view is audited, and every answer from Cardlytics is stored, failures included.
 */
export async function customerOverview(
  ctx: Pick<AppContext, "db" | "cardlytics" | "config" | "clientAddress" | "now">,
  input: { customerHash: string; mockData: boolean; actor: NonNullable<Actor> },
) {
  const { db } = ctx;
  const pending = checkAccountLink({ db, cardlytics: ctx.cardlytics, now: ctx.now }, { customerHash: input.customerHash, mockData: input.mockData, staffUserId: input.actor.id });
  recordAudit(db, { actor: input.actor, action: "customer.view", customerHash: input.customerHash, clientAddress: ctx.clientAddress, details: input.mockData ? { mockData: true } : undefined, at: ctx.now() });
  const lastKnown = knownAccounts(db, input.customerHash);
  const staffActivity = listAudit(db, { customerHash: input.customerHash }, { limit: 100 }).entries;
  const items = itemsOfCustomer(db, input.customerHash);
  const webhooks = webhooksOfCustomer(db, input.customerHash);
  const { check, result } = await pending;
  const history = checkHistory(db, input.customerHash, 100);
  const now = ctx.now().getTime();
  const live = result.outcome === "linked" ? result.accounts : result.outcome === "none" ? [] : null;
  const accounts = (live ?? lastKnown).map((a) => ({ ...a, state: classifyAccount(a, now, ctx.config.expiringWithinDays) }));
  const verdict = verdictFor({
    now,
    expiringWithinDays: ctx.config.expiringWithinDays,
    mockData: input.mockData,
    cardlytics:
      result.outcome === "linked" ? { outcome: "linked", accounts: result.accounts } : result.outcome === "none" ? { outcome: "none" } : { outcome: "failed", reason: result.reason, requestId: result.requestId },
    items: items.map((i) => ({ itemId: i.itemId, institution: i.institutionName, status: i.status })),
  });
  const checks = history.map((c, i) => {
    const previous = history[i + 1];
    return {
      id: c.id,
      at: c.checkedAt.getTime(),
      outcome: c.outcome,
      httpStatus: c.httpStatus,
      summary: describeCheck(c),
      requestId: c.requestId,
      latencyMs: c.latencyMs,
      mockData: c.mockData,
      changed: previous !== undefined && c.outcome !== "failed" && accountsSignature(c) !== accountsSignature(previous),
    };
  });
  const timeline: TimelineEvent[] = [
    ...history.map((c) => ({ at: c.checkedAt.getTime(), kind: "check" as const, title: `Cardlytics accountLink: ${c.outcome}${c.mockData ? " (mock data)" : ""}`, detail: describeCheck(c), requestId: c.requestId })),
    ...items.flatMap((i) => [
      { at: i.createdAt.getTime(), kind: "item" as const, title: "Plaid item added", detail: `${i.institutionName ?? "?"} (${i.itemId})`, requestId: null },
      ...(i.removedAt ? [{ at: i.removedAt.getTime(), kind: "item" as const, title: "Plaid item removed; its processor tokens are revoked", detail: i.itemId, requestId: null }] : []),
    ]),
    ...webhooks.map((w) => ({ at: w.receivedAt.getTime(), kind: "webhook" as const, title: `Plaid webhook ${w.webhookType ?? "?"}/${w.webhookCode ?? "?"}`, detail: `${w.verdict}${w.handlingStatus ? `, ${w.handlingStatus}` : ""}${w.itemId ? ` · item ${w.itemId}` : ""}`, requestId: null })),
    ...staffActivity.map((e) => ({ at: e.at.getTime(), kind: "staff" as const, title: e.action, detail: `${e.staffEmail ?? "unknown"}${e.role ? ` (${e.role})` : ""}`, requestId: null })),
  ].sort((a, b) => b.at - a.at);
  return {
    now,
    verdict,
    live: result.outcome === "failed" ? { ok: false as const, reason: result.reason, message: result.message, requestId: result.requestId, httpStatus: result.httpStatus, lastKnownAt: history.find((c) => c.outcome !== "failed")?.checkedAt.getTime() ?? null } : { ok: true as const, requestId: result.requestId, latencyMs: result.latencyMs },
    accounts,
    checks,
    timeline,
    items: items.map((i) => ({ itemId: i.itemId, institutionName: i.institutionName, status: i.status, errorCode: i.errorCode, createdAt: i.createdAt.getTime() })),
    escalation: escalationPacket(input.customerHash, accounts, history.slice(0, 5), items.map((i) => i.itemId)),
    checkId: check.id,
  };
}

/** The ids Cardlytics or Plaid support ask for, as plain text to paste into a ticket. Hash only, never a raw id. */
function escalationPacket(hash: string, accounts: CardlyticsAccount[], checks: StoredCheck[], itemIds: string[]): string {
  return [
    `x-source-customer-id: ${hash}`,
    `Cardlytics accountId: ${accounts.map((a) => `${a.accountId} (${a.status})`).join(", ") || "none"}`,
    `Plaid item_id: ${itemIds.join(", ") || "none recorded"}`,
    "Plaid link_session_id: none recorded",
    "Recent Cardlytics calls (UTC):",
    ...checks.map((c) => `  GET /v2/data/accountLink ${c.checkedAt.toISOString()} HTTP ${c.httpStatus ?? "no answer"} requestId ${c.requestId}`),
  ].join("\n");
}
