import type { AppContext } from "../context";
import { checkAccountLink, checkHistory, knownAccounts, type StoredCheck } from "../cardlytics/account-links.server";
import type { AccountLinkResult, CardlyticsAccount } from "../cardlytics/client.server";
import { classifyAccount } from "../cardlytics/expiry";
import { recordAudit, type Actor } from "../staff/audit.server";
import { verdictFor, type PlaidItemSignal, type Verdict } from "./verdict";
import { cardlyticsIntegrationRefusal, itemsOfCustomer, processorTokensOfItem } from "../plaid/items.server";
import { readItemsLive, type LiveItem } from "../plaid/live-items.server";
import { linkSessionsOfCustomer, readLinkTokensLive, type LinkSessionView, type LinkTokenLive } from "../plaid/link-sessions.server";
import { craUserOf, reportsOfCustomer, reportState } from "../reports/check-reports.server";
import { conflictsOfCustomer, idsOfCustomer } from "./identity.server";
import { customerTimeline } from "./timeline.server";
import { plural } from "../lib/plural";
import { accessReasonDetails, type AccessReason } from "./access-reason.server";

/** How long the page's stream waits for a vendor before it says so; the call itself goes on and is stored. */
export const LIVE_WAIT_MS = 4500;

export type OverviewCtx = Pick<AppContext, "db" | "cardlytics" | "plaid" | "config" | "clientAddress" | "now">;

function accountsSignature(check: Pick<StoredCheck, "outcome" | "accounts">): string {
  if (check.outcome === "failed") return "failed";
  const accounts = (check.accounts ?? []) as CardlyticsAccount[];
  return accounts.map((a) => `${a.accountId}:${a.status}:${a.expirationDate}`).sort().join("|") || "none";
}

function describeCheck(c: StoredCheck): string {
  if (c.outcome === "none") return "No linked account (204)";
  if (c.outcome === "failed") return `Failed: ${c.failureReason}${c.httpStatus ? ` (HTTP ${c.httpStatus})` : ""}`;
  const accounts = (c.accounts ?? []) as CardlyticsAccount[];
  return `${plural(accounts.length, "account")}: ${accounts.map((a) => `${a.fiName ?? "?"} ••${a.last4 ?? "??"} ${a.status}`).join(", ")}`;
}

// One order everywhere, whether the accounts come live or from the last stored answer.
const byAccountId = (a: CardlyticsAccount, b: CardlyticsAccount) => a.accountId.localeCompare(b.accountId);
const classify = (accounts: CardlyticsAccount[], now: number, within: number) => [...accounts].sort(byAccountId).map((a) => ({ ...a, state: classifyAccount(a, now, within) }));

function checkRows(history: StoredCheck[]) {
  return history.map((c, i) => {
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
}

/** Settles with the promise's value, or with `late` if it takes longer than the page can wait. */
function withinWait<T, L>(promise: Promise<T>, late: L, ms = LIVE_WAIT_MS): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late), ms)))]).finally(() => clearTimeout(timer));
}

export type CardlyticsLive =
  | { state: "answered"; ok: true; requestId: string; latencyMs: number; accounts: ReturnType<typeof classify>; checks: ReturnType<typeof checkRows> }
  | { state: "answered"; ok: false; reason: string; message: string; requestId: string; httpStatus: number | null; lastKnownAt: number | null; accounts: ReturnType<typeof classify>; checks: ReturnType<typeof checkRows> }
  | { state: "waiting"; waitedMs: number };

export type PlaidLive = { items: LiveItem[]; linkTokens: LinkTokenLive[] } | { state: "waiting"; waitedMs: number };

/**
 * Everything the customer page shows. What is stored comes back at once; what the vendors say live (Cardlytics'
 * accountLink, each registered item Linkdesk holds a token for, each registered link token) comes back as promises
 * the page streams in as they settle, and the verdict settles once both have. Every view is audited, and every answer
 * from Cardlytics is stored, failures included, even one that comes after the page stopped waiting.
 */
export function customerOverview(ctx: OverviewCtx, input: { customerHash: string; mockData: boolean; actor: NonNullable<Actor>; access?: AccessReason | null }) {
  const { db } = ctx;
  const hash = input.customerHash;
  const within = ctx.config.expiringWithinDays;
  const pending = checkAccountLink({ db, cardlytics: ctx.cardlytics, now: ctx.now }, { customerHash: hash, mockData: input.mockData, staffUserId: input.actor.id });
  recordAudit(db, { actor: input.actor, action: "customer.view", customerHash: hash, clientAddress: ctx.clientAddress, details: viewDetails(input.mockData, input.access ?? null), at: ctx.now() });
  const now = ctx.now().getTime();

  const items = itemsOfCustomer(db, hash).map((i) => ({ ...i, createdAt: i.createdAt.getTime(), removedAt: i.removedAt?.getTime() ?? null, tokens: processorTokensOfItem(db, i.itemId).map((t) => ({ ...t, createdAt: t.createdAt.getTime(), sentToCardlyticsAt: t.sentToCardlyticsAt?.getTime() ?? null, revokedAt: t.revokedAt?.getTime() ?? null })) }));
  const readable = items.filter((i) => i.hasAccessToken && i.status !== "removed").map((i) => i.itemId);
  const plaidLive = Promise.all([readItemsLive(ctx, readable), readLinkTokensLive(ctx, hash)]).then(([liveItems, linkTokens]) => ({ items: liveItems, linkTokens }));
  const checkUser = craUserOf(db, hash);
  const reports = reportsOfCustomer(db, hash).slice(0, 5);
  const history = checkHistory(db, hash, 100);
  const stored = {
    accounts: classify(knownAccounts(db, hash), now, within),
    lastGoodCheckAt: history.find((c) => c.outcome !== "failed")?.checkedAt.getTime() ?? null,
    checks: checkRows(history),
    items,
    linkSessions: linkSessionsOfCustomer(db, hash),
    checkUser: checkUser ? { userId: checkUser.userId, generation: checkUser.generation, source: checkUser.source, removedAt: checkUser.removedAt?.getTime() ?? null } : null,
    reports: reports.map((r) => ({ id: r.id, state: reportState(r, now, ctx.config.cra.webhookTimeoutMs), origin: r.origin, requestedAt: r.requestedAt.getTime(), plaidRequestId: r.plaidRequestId })),
    ids: idsOfCustomer(db, hash).filter((i) => i.kind !== "processor_token"),
    conflicts: conflictsOfCustomer(db, hash),
  };

  const cardlytics: Promise<CardlyticsLive> = withinWait(
    pending.then(({ result }): CardlyticsLive => {
      const fresh = checkHistory(db, hash, 100);
      const live = result.outcome === "linked" ? result.accounts : result.outcome === "none" ? [] : null;
      const accounts = classify(live ?? knownAccounts(db, hash), ctx.now().getTime(), within);
      if (result.outcome === "failed") {
        return { state: "answered", ok: false, reason: result.reason, message: result.message, requestId: result.requestId, httpStatus: result.httpStatus, lastKnownAt: fresh.find((c) => c.outcome !== "failed")?.checkedAt.getTime() ?? null, accounts, checks: checkRows(fresh) };
      }
      return { state: "answered", ok: true, requestId: result.requestId, latencyMs: result.latencyMs, accounts, checks: checkRows(fresh) };
    }),
    { state: "waiting" as const, waitedMs: LIVE_WAIT_MS },
  );
  const plaid: Promise<PlaidLive> = withinWait(plaidLive, { state: "waiting" as const, waitedMs: LIVE_WAIT_MS });

  // The verdict and the packet wait on the same answers, within the same wait.
  const answered = Promise.all([withinWait(pending, null), plaid]);
  const verdict: Promise<Verdict> = answered.then(([answer, p]) => {
    const liveById = new Map("items" in p ? p.items.map((l) => [l.itemId, l]) : []);
    const signals: PlaidItemSignal[] = items.map((i) => {
      const l = liveById.get(i.itemId);
      return { itemId: i.itemId, institution: i.institutionName, status: l?.ok ? l.status : i.status };
    });
    const connectedProcessorTokens = items.reduce((n, i) => n + i.tokens.filter((t) => t.cardlyticsResult === "connected" && !t.revokedAt).length, 0);
    return verdictFor({ now: ctx.now().getTime(), expiringWithinDays: within, mockData: input.mockData, cardlytics: cardlyticsSignal(answer?.result ?? null), items: signals, connectedProcessorTokens, cardlyticsIntegrationRefused: cardlyticsIntegrationRefusal(db, hash) });
  });

  const escalation: Promise<string> = answered.then(([answer, p]) =>
    escalationPacket({
      hash,
      accounts: answer?.result.outcome === "linked" ? [...answer.result.accounts].sort(byAccountId) : stored.accounts,
      checks: checkHistory(db, hash, 5),
      itemIds: items.map((i) => i.itemId),
      linkSessions: stored.linkSessions,
      plaidRequestIds: [...("items" in p ? p.items.flatMap((l) => (l.ok ? l.requestIds : l.error.requestId ? [l.error.requestId] : [])) : []), ...("linkTokens" in p ? p.linkTokens.flatMap((t) => (t.requestId ? [t.requestId] : [])) : []), ...reports.flatMap((r) => (r.plaidRequestId ? [r.plaidRequestId] : []))],
      checkUserId: checkUser?.userId ?? null,
    }),
  );

  return { now, stored, timeline: customerTimeline(db, hash), cardlytics, plaid, verdict, escalation };
}

// The view's entry says why the customer was opened (when a reason was given) and whether the data was Cardlytics' mock.
function viewDetails(mockData: boolean, access: AccessReason | null): Record<string, unknown> | undefined {
  const details = { ...(mockData ? { mockData: true } : {}), ...accessReasonDetails(access) };
  return Object.keys(details).length ? details : undefined;
}

function cardlyticsSignal(result: AccountLinkResult | null) {
  if (!result) return { outcome: "unknown" as const };
  if (result.outcome === "linked") return { outcome: "linked" as const, accounts: result.accounts };
  if (result.outcome === "none") return { outcome: "none" as const };
  return { outcome: "failed" as const, reason: result.reason, requestId: result.requestId };
}

/** The ids Cardlytics or Plaid support ask for, as plain text to paste into a ticket. Hash only, never a raw id. */
function escalationPacket(p: { hash: string; accounts: CardlyticsAccount[]; checks: StoredCheck[]; itemIds: string[]; linkSessions: LinkSessionView[]; plaidRequestIds: string[]; checkUserId: string | null }): string {
  return [
    `x-source-customer-id: ${p.hash}`,
    `Cardlytics accountId: ${p.accounts.map((a) => `${a.accountId} (${a.status})`).join(", ") || "none"}`,
    `Plaid item_id: ${p.itemIds.join(", ") || "none recorded"}`,
    `Plaid link_session_id: ${p.linkSessions.map((s) => `${s.linkSessionId} (${s.outcome}${s.errorCode ? ` ${s.errorCode}` : ""})`).join(", ") || "none recorded"}`,
    `Plaid Check user_id: ${p.checkUserId ?? "none recorded"}`,
    `Plaid request_id: ${[...new Set(p.plaidRequestIds)].slice(0, 10).join(", ") || "none recorded"}`,
    "Recent Cardlytics calls (UTC):",
    ...p.checks.map((c) => `  GET /v2/data/accountLink ${c.checkedAt.toISOString()} HTTP ${c.httpStatus ?? "no answer"} requestId ${c.requestId}`),
  ].join("\n");
}
