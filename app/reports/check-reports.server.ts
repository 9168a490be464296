import { and, asc, count, desc, eq, gte, isNotNull, isNull, lt, max, min } from "drizzle-orm";
import type { PlaidApi } from "plaid";
import type { Db, Queryable } from "../../db/open";
import { craReports, craUsers } from "../../db/schema";
import type { Config } from "../config/env.server";
import { touchCustomer } from "../cardlytics/account-links.server";
import { recordConsoleStep } from "../funnel/sources.server";
import { claimId } from "../customers/identity.server";
import { decryptToken, encryptToken, StoredTokenError, tokenBinding } from "../lib/token-crypto.server";
import { plaidCall, PlaidCallError } from "../plaid/client.server";
import { recordAudit, type Actor } from "../staff/audit.server";
import type { IdentityInput } from "./identity-form";
import type { ReportState } from "./report-states";
import { plural } from "../lib/plural";

export type ReportDeps = { db: Db; plaid: PlaidApi; config: Pick<Config, "tokenEncryptionKey" | "plaid" | "cra">; now: () => Date };
type Ctx = { actor: NonNullable<Actor>; clientAddress: string };

export class ReportRuleError extends Error {}

/** The customer's stored Check user_token does not belong to its row: Plaid is not called with it. */
export class UserTokenRefused extends ReportRuleError {}

export const REPORT_LIFETIME_MS = 24 * 3600_000;

export function craUserOf(db: Queryable, customerHash: string) {
  return db.select().from(craUsers).where(eq(craUsers.customerHash, customerHash)).get();
}

/**
 * Creates the customer's Plaid Check user. The client_user_id is the customer hash (never PII). The newer API takes
 * `identity`; a client still on the older one is told so with INVALID_FIELD, and is then sent the older shape.
 */
export async function createCraUser(deps: ReportDeps, input: { customerHash: string; identity: IdentityInput }, ctx: Ctx) {
  if (craUserOf(deps.db, input.customerHash)) throw new ReportRuleError("This customer already has a Plaid Check user.");
  const i = input.identity;
  const identity = {
    name: { given_name: i.givenName, family_name: i.familyName },
    date_of_birth: i.dateOfBirth,
    emails: [{ data: i.email, primary: true }],
    phone_numbers: [{ data: i.phone, primary: true }],
    addresses: [{ street_1: i.street, city: i.city, region: i.region, postal_code: i.postalCode, country: "US", primary: true }],
  };
  let created;
  try {
    created = await plaidCall(() => deps.plaid.userCreate({ client_user_id: input.customerHash, identity } as never));
  } catch (error) {
    if (!(error instanceof PlaidCallError && error.failure.errorCode === "INVALID_FIELD" && /identity/.test(error.failure.errorMessage))) throw error;
    try {
      created = await plaidCall(() =>
        deps.plaid.userCreate({
          client_user_id: input.customerHash,
          consumer_report_user_identity: { first_name: i.givenName, last_name: i.familyName, date_of_birth: i.dateOfBirth, emails: [i.email], phone_numbers: [i.phone], primary_address: { street: i.street, city: i.city, region: i.region, postal_code: i.postalCode, country: "US" } },
        }),
      );
    } catch (legacyError) {
      if (legacyError instanceof PlaidCallError && /already been created/.test(legacyError.failure.errorMessage)) {
        throw new ReportRuleError(
          "Plaid already has a Check user for this customer, made earlier with the older user API. That API never hands the user_token out again and never lets a client_user_id be reused, so the earlier user_token must be found where it was first stored; Plaid support can help with the request id.",
        );
      }
      throw legacyError;
    }
  }
  const now = deps.now();
  const row = deps.db.transaction((tx) => {
    touchCustomer(tx, input.customerHash, now);
    claimId(tx, { kind: "check_user", value: created.user_id, customerHash: input.customerHash, source: "console", at: now });
    return tx
      .insert(craUsers)
      .values({ customerHash: input.customerHash, generation: created.user_token ? "legacy" : "new", userId: created.user_id, userTokenEnc: created.user_token ? encryptToken(deps.config.tokenEncryptionKey, created.user_token, tokenBinding.userToken(input.customerHash)) : null, clientUserId: input.customerHash, createdBy: ctx.actor.id, createdAt: now })
      .returning()
      .get();
  });
  recordAudit(deps.db, { actor: ctx.actor, action: "cra.user_create", customerHash: input.customerHash, clientAddress: ctx.clientAddress, details: { generation: row.generation, userId: row.userId, requestId: created.request_id }, at: now });
  return row;
}

export type ReportRequestInput = { customerHash: string; reason: string; purpose: string; daysRequested: number; products: string[] };
export type Refusal = { refused: "no_user" | "cooldown"; message: string };

/**
 * Queues one regeneration inside the caller's transaction, or says why not: the customer has no Plaid Check user,
 * or a report was requested for them within the cooldown. Shared by the single and the bulk request.
 */
export function enqueueReport(tx: Queryable, input: ReportRequestInput & { requestedBy: number | null }, now: Date, cooldownMs: number): { report: typeof craReports.$inferSelect } | Refusal {
  const user = craUserOf(tx, input.customerHash);
  if (!user) return { refused: "no_user", message: "Create the customer's Plaid Check user first." };
  const last = tx
    .select({ requestedAt: craReports.requestedAt })
    .from(craReports)
    .where(and(eq(craReports.customerHash, input.customerHash), eq(craReports.origin, "console")))
    .orderBy(desc(craReports.requestedAt))
    .get();
  const wait = last ? last.requestedAt.getTime() + cooldownMs - now.getTime() : 0;
  if (wait > 0) return { refused: "cooldown", message: `A report was requested for this customer recently; the next one can be requested in ${plural(Math.ceil(wait / 60_000), "minute")}.` };
  const report = tx
    .insert(craReports)
    .values({ customerHash: input.customerHash, craUserId: user.id, status: "queued", origin: "console", reason: input.reason, purpose: input.purpose, daysRequested: input.daysRequested, products: input.products, requestedBy: input.requestedBy, requestedAt: now })
    .returning()
    .get();
  return { report };
}

/** Queues a regeneration; refused within the customer's cooldown. The queue is sent by `dispatchReports`. */
export function requestReport(deps: ReportDeps, input: ReportRequestInput, ctx: Ctx) {
  const now = deps.now();
  const outcome = deps.db.transaction((tx) => enqueueReport(tx, { ...input, requestedBy: ctx.actor.id }, now, deps.config.cra.cooldownMs));
  if ("refused" in outcome) throw new ReportRuleError(outcome.message);
  const row = outcome.report;
  recordAudit(deps.db, { actor: ctx.actor, action: "cra.report_request", targetType: "cra_report", targetId: row.id, customerHash: input.customerHash, clientAddress: ctx.clientAddress, details: { reason: input.reason, purpose: input.purpose, daysRequested: input.daysRequested, products: input.products }, at: now });
  return row;
}

/** The identifier Plaid knows the user by: the older API's user_token (stored encrypted) or the newer user_id. */
export function plaidUserRef(deps: Pick<ReportDeps, "config">, user: { customerHash: string; userId: string | null; userTokenEnc: string | null }): { user_token: string } | { user_id: string } {
  if (user.userTokenEnc) {
    try {
      return { user_token: decryptToken(deps.config.tokenEncryptionKey, user.userTokenEnc, tokenBinding.userToken(user.customerHash)) };
    } catch (error) {
      if (!(error instanceof StoredTokenError)) throw error;
      throw new UserTokenRefused(`${error.message} Plaid was not called with it; have the publisher register the customer's Check user_token again.`);
    }
  }
  if (user.userId) return { user_id: user.userId };
  // Registrations always carry one or the other; a row with neither cannot be sent.
  throw new ReportRuleError("This Plaid Check user has neither a user_id nor a user_token on record.");
}

/**
 * Sends queued requests in order, never more than the per-minute cap. A row is marked sent before the call, so a
 * crash can lose a send (it is then flagged for having no webhook) but never repeat one, which Plaid would bill.
 * A 429 means Plaid made nothing: the request goes back to the head of the queue, and the queue waits a minute.
 */
export async function dispatchReports(deps: ReportDeps): Promise<number> {
  const now = deps.now();
  const held = deps.db.select({ until: max(craReports.retryAt) }).from(craReports).where(eq(craReports.status, "queued")).get()?.until;
  if (held && held.getTime() > now.getTime()) return 0;
  const sentLastMinute = deps.db.select({ n: count() }).from(craReports).where(and(isNotNull(craReports.sentAt), gte(craReports.sentAt, new Date(now.getTime() - 60_000)))).get()?.n ?? 0;
  const room = deps.config.cra.maxPerMinute - sentLastMinute;
  if (room <= 0) return 0;
  const queued = deps.db.select().from(craReports).where(eq(craReports.status, "queued")).orderBy(asc(craReports.id)).limit(room).all();
  let sent = 0;
  for (const report of queued) {
    const claimed = deps.db.update(craReports).set({ status: "pending", sentAt: deps.now(), retryAt: null }).where(and(eq(craReports.id, report.id), eq(craReports.status, "queued"))).run().changes;
    if (!claimed) continue;
    const user = deps.db.select().from(craUsers).where(eq(craUsers.id, report.craUserId)).get()!;
    try {
      const who = plaidUserRef(deps, user);
      const res = await plaidCall(() =>
        deps.plaid.craCheckReportCreate({ ...who, webhook: deps.config.plaid.webhookUrl ?? "", days_requested: report.daysRequested ?? 365, consumer_report_permissible_purpose: report.purpose, products: report.products } as never),
      );
      deps.db.update(craReports).set({ plaidRequestId: res.request_id }).where(eq(craReports.id, report.id)).run();
      sent++;
    } catch (error) {
      if (error instanceof UserTokenRefused) {
        // Nothing reached Plaid (the stored user_token was refused): the request fails with the reason.
        deps.db.update(craReports).set({ status: "failed", completedAt: deps.now(), errorCode: "STORED_TOKEN_REFUSED", errorMessage: error.message }).where(eq(craReports.id, report.id)).run();
        continue;
      }
      if (!(error instanceof PlaidCallError)) throw error;
      const f = error.failure;
      if (f.httpStatus === 429) {
        deps.db.update(craReports).set({ status: "queued", sentAt: null, retryAt: new Date(deps.now().getTime() + 60_000), errorCode: f.errorCode, errorMessage: f.errorMessage, plaidRequestId: f.requestId }).where(eq(craReports.id, report.id)).run();
        break;
      }
      // A refusal means Plaid made nothing; a timeout leaves it pending, and the missing webhook will flag it.
      if (f.errorType !== "NETWORK") {
        deps.db.update(craReports).set({ status: "failed", completedAt: deps.now(), errorCode: f.errorCode, errorMessage: f.errorMessage, plaidRequestId: f.requestId }).where(eq(craReports.id, report.id)).run();
      }
    }
  }
  return sent;
}

/** CHECK_REPORT webhooks of both generations: the customer's pending request turns ready or failed. */
export function applyCheckReportWebhook(db: Queryable, body: { webhook_code?: unknown; user_id?: unknown; successful_products?: unknown; failed_products?: unknown }, eventId: number | null, at: Date): string {
  const code = String(body.webhook_code ?? "");
  const ready = code === "CHECK_REPORT_READY" || code === "USER_CHECK_REPORT_READY";
  const failed = code === "CHECK_REPORT_FAILED" || code === "USER_CHECK_REPORT_FAILED";
  if (!ready && !failed) return `CHECK_REPORT/${code} changes nothing here`;
  const user = typeof body.user_id === "string" ? db.select().from(craUsers).where(eq(craUsers.userId, body.user_id)).get() : undefined;
  if (!user) return `user ${String(body.user_id)} is not recorded here`;
  const outcome = {
    status: ready ? ("ready" as const) : ("failed" as const),
    completedAt: at,
    settledBy: "webhook" as const,
    webhookEventId: eventId,
    successfulProducts: Array.isArray(body.successful_products) ? (body.successful_products as string[]) : null,
    failedProducts: Array.isArray(body.failed_products) ? (body.failed_products as string[]) : null,
    errorCode: failed ? code : null,
  };
  const pending = db.select({ id: craReports.id }).from(craReports).where(and(eq(craReports.craUserId, user.id), eq(craReports.status, "pending"))).orderBy(asc(craReports.id)).get();
  const reached = (reportId: number) => {
    if (ready) recordConsoleStep(db, { key: String(reportId), name: "report_ready", customerHash: user.customerHash, at });
  };
  if (pending) {
    db.update(craReports).set(outcome).where(eq(craReports.id, pending.id)).run();
    reached(pending.id);
    return `report #${pending.id} is ${outcome.status}`;
  }
  // A request a probe already settled: the late webhook completes it rather than counting as a new report.
  const probed = db.select({ id: craReports.id }).from(craReports).where(and(eq(craReports.craUserId, user.id), eq(craReports.settledBy, "probe"), isNull(craReports.webhookEventId), gte(craReports.sentAt, new Date(at.getTime() - REPORT_LIFETIME_MS)))).orderBy(desc(craReports.id)).get();
  if (probed) {
    db.update(craReports).set({ ...outcome, completedAt: undefined }).where(eq(craReports.id, probed.id)).run();
    return `report #${probed.id} (settled earlier by a probe) is ${outcome.status}`;
  }
  // Plaid builds a report on its own after a Check Link session: record it too.
  const row = db.insert(craReports).values({ customerHash: user.customerHash, craUserId: user.id, origin: "plaid", products: outcome.successfulProducts ?? [], requestedAt: at, ...outcome }).returning({ id: craReports.id }).get();
  reached(row.id);
  return `report #${row.id} (generated by Plaid) is ${outcome.status}`;
}

export type { ReportState } from "./report-states";

/**
 * When Plaid stops serving a ready report: 24 hours from its creation (the guide), which is when the request was sent;
 * a report Plaid generated on its own (after a Check Link session) is dated by its webhook, the nearest thing known.
 */
export function reportExpiresAt(r: { status: string; sentAt: Date | null; completedAt: Date | null }): number | null {
  if (r.status !== "ready") return null;
  const created = r.sentAt ?? r.completedAt;
  return created ? created.getTime() + REPORT_LIFETIME_MS : null;
}

export function reportState(r: { status: string; sentAt: Date | null; completedAt: Date | null; probeCode?: string | null }, now: number, webhookTimeoutMs: number): ReportState {
  if (r.status === "ready") {
    const expiresAt = reportExpiresAt(r);
    return r.probeCode === "CONSUMER_REPORT_EXPIRED" || (expiresAt !== null && now >= expiresAt) ? "expired" : "ready";
  }
  if (r.status === "pending") return r.sentAt && now - r.sentAt.getTime() >= webhookTimeoutMs ? "stuck" : "pending";
  return r.status as ReportState;
}

/** The Plaid Check queue at a glance: how many requests wait to be sent, and since when the oldest has (ms, or null). */
export function checkQueueState(db: Queryable): { queued: number; oldestRequestedAt: number | null } {
  const row = db.select({ queued: count(), oldest: min(craReports.requestedAt) }).from(craReports).where(eq(craReports.status, "queued")).get();
  return { queued: row?.queued ?? 0, oldestRequestedAt: row?.oldest ? row.oldest.getTime() : null };
}

export function reportsOfCustomer(db: Db, customerHash: string) {
  return db.select().from(craReports).where(eq(craReports.customerHash, customerHash)).orderBy(desc(craReports.id)).limit(50).all();
}

/** Requests sent longer ago than the webhook timeout that never got READY or FAILED. */
export function stuckReports(db: Db, now: Date, webhookTimeoutMs: number) {
  return db.select({ id: craReports.id, customerHash: craReports.customerHash, sentAt: craReports.sentAt }).from(craReports).where(and(eq(craReports.status, "pending"), lt(craReports.sentAt, new Date(now.getTime() - webhookTimeoutMs)))).orderBy(asc(craReports.sentAt)).limit(100).all();
}
