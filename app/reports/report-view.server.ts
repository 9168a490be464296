import { and, desc, eq, gt, isNotNull, or } from "drizzle-orm";
import type { CraCheckReportBaseReportGetResponse, CraCheckReportIncomeInsightsGetResponse, CraCheckReportPartnerInsightsGetResponse, Item } from "plaid";
import type { Db } from "../../db/open";
import { craBulkRows, craReports, craUsers, staffUsers } from "../../db/schema";
import { plaidCall, PlaidCallError, type PlaidFailure } from "../plaid/client.server";
import { plaidErrorHelp } from "../plaid/error-help";
import { storedTokenRefusal, type ShownPlaidError } from "../plaid/guards.server";
import { recordAudit, type Actor } from "../staff/audit.server";
import { plaidUserRef, ReportRuleError, UserTokenRefused, type ReportDeps } from "./check-reports.server";
import { recordConsoleStep } from "../funnel/sources.server";

type Ctx = { actor: NonNullable<Actor>; clientAddress: string };
export type ShownFailure = ShownPlaidError;

const shown = (f: PlaidFailure): ShownFailure => ({ ...f, help: plaidErrorHelp(f.errorCode) });

/** A stored user_token refused before any call, shown where Plaid's answer would be. */
const refusedToken = (error: UserTokenRefused): ShownFailure =>
  storedTokenRefusal(error.message, "Linkdesk refused the stored user_token before calling Plaid. Have the publisher register the customer's check_user with its user_token again.");

/** One report request with who asked, the bulk run it came from, and the newer request that replaced it at Plaid. */
export function reportDetail(db: Db, id: number) {
  const row = db
    .select({ report: craReports, user: craUsers, requesterEmail: staffUsers.email, bulkRunId: craBulkRows.runId })
    .from(craReports)
    .innerJoin(craUsers, eq(craUsers.id, craReports.craUserId))
    .leftJoin(staffUsers, eq(staffUsers.id, craReports.requestedBy))
    .leftJoin(craBulkRows, eq(craBulkRows.reportId, craReports.id))
    .where(eq(craReports.id, id))
    .get();
  if (!row) return undefined;
  // Plaid keeps one report per user, the latest: once a newer request reached Plaid, this one can no longer be read.
  const newer = db
    .select({ id: craReports.id })
    .from(craReports)
    .where(and(eq(craReports.craUserId, row.user.id), gt(craReports.id, id), or(isNotNull(craReports.sentAt), eq(craReports.origin, "plaid"))))
    .orderBy(desc(craReports.id))
    .get();
  return { ...row, supersededBy: newer?.id ?? null };
}

export type Money = { amount: number; currency: string } | null;

export type BaseReportSummary = {
  reportId: string;
  generatedAt: string;
  daysRequested: number;
  moneyIn: Money;
  moneyOut: Money;
  nsfOverdrafts: number | null;
  warnings: string[];
  items: {
    itemId: string;
    institutionName: string;
    lastUpdated: string;
    accounts: { accountId: string; name: string; mask: string | null; type: string; subtype: string | null; current: number | null; available: number | null; averageBalance: number | null; currency: string; daysAvailable: number; transactions: number }[];
  }[];
};

export type IncomeSummary = {
  streams: { id: string; description: string; category: string; payFrequency: string; status: string; provider: string | null; monthlyNet: number | null; monthlyGross: number | null; nextPayment: string | null; currency: string }[];
  monthlyNetTotal: number;
};

export type PartnerSummary = { prismStatus: string | null; cashScore: number | null; cashScoreVersion: string | null; reasonCodes: string[]; fico: boolean };

type Section<T> = { ok: true; summary: T; raw: unknown } | { ok: false; error: ShownFailure } | null;

// Plaid's sign convention: positive amounts are money out, so inflow totals arrive negative.
const money = (m: { amount?: number | null; iso_currency_code?: string | null; unofficial_currency_code?: string | null } | null | undefined, flip = false): Money =>
  m && typeof m.amount === "number" ? { amount: flip ? -m.amount : m.amount, currency: m.iso_currency_code ?? m.unofficial_currency_code ?? "USD" } : null;

export function summarizeBaseReport(res: CraCheckReportBaseReportGetResponse): BaseReportSummary {
  const r = res.report;
  const attributes = (r.attributes ?? {}) as { total_inflow_amount?: Parameters<typeof money>[0]; total_outflow_amount?: Parameters<typeof money>[0]; nsf_overdraft_transactions_count?: number };
  return {
    reportId: r.report_id,
    generatedAt: r.date_generated,
    daysRequested: r.days_requested,
    moneyIn: money(attributes.total_inflow_amount, true),
    moneyOut: money(attributes.total_outflow_amount),
    nsfOverdrafts: typeof attributes.nsf_overdraft_transactions_count === "number" ? attributes.nsf_overdraft_transactions_count : null,
    warnings: (res.warnings ?? []).map((w) => `${w.warning_code}${w.cause ? `: ${w.cause.error_code} ${w.cause.item_id ? `(item ${w.cause.item_id})` : ""}` : ""}`),
    items: r.items.map((item) => ({
      itemId: item.item_id,
      institutionName: item.institution_name,
      lastUpdated: item.date_last_updated,
      accounts: item.accounts.map((a) => ({
        accountId: a.account_id,
        name: a.name,
        mask: a.mask ?? null,
        type: String(a.type),
        subtype: a.subtype ? String(a.subtype) : null,
        current: a.balances.current ?? null,
        available: a.balances.available ?? null,
        averageBalance: a.balances.average_balance ?? null,
        currency: a.balances.iso_currency_code ?? a.balances.unofficial_currency_code ?? "USD",
        daysAvailable: a.days_available,
        transactions: a.transactions?.length ?? 0,
      })),
    })),
  };
}

export function summarizeIncome(res: CraCheckReportIncomeInsightsGetResponse): IncomeSummary {
  const streams = (res.report?.income_streams ?? []).map((s) => {
    const monthly = s.income_metrics?.current?.monthly;
    return {
      id: s.income_stream_id,
      description: s.description ?? "",
      category: [s.insights?.income_category?.primary, s.insights?.income_category?.secondary].filter(Boolean).join(" / "),
      payFrequency: String(s.insights?.pay_frequency ?? "UNKNOWN"),
      status: String(s.insights?.status ?? "UNKNOWN"),
      provider: s.insights?.income_provider?.name ?? null,
      monthlyNet: monthly?.net_income ?? null,
      monthlyGross: monthly?.gross_income ?? null,
      nextPayment: s.insights?.next_payment?.date ?? null,
      currency: s.income_metrics?.iso_currency_code ?? "USD",
    };
  });
  return { streams, monthlyNetTotal: streams.reduce((sum, s) => sum + (s.status === "INACTIVE" ? 0 : s.monthlyNet ?? 0), 0) };
}

export function summarizePartner(res: CraCheckReportPartnerInsightsGetResponse): PartnerSummary {
  const prism = res.report?.prism ?? null;
  const cash = prism?.cash_score ?? null;
  return {
    prismStatus: prism?.status ? String(prism.status) : null,
    cashScore: typeof cash?.score === "number" ? cash.score : null,
    cashScoreVersion: cash?.version !== undefined && cash?.version !== null ? String(cash.version) : null,
    reasonCodes: cash?.reason_codes ?? [],
    fico: Boolean(res.report?.fico),
  };
}

async function section<T, R>(call: () => Promise<{ data: R }>, summarize: (r: R) => T): Promise<Section<T>> {
  try {
    const raw = await plaidCall(call);
    return { ok: true, summary: summarize(raw), raw };
  } catch (error) {
    if (error instanceof PlaidCallError) return { ok: false, error: shown(error.failure) };
    throw error;
  }
}

/** Which optional products to read: those asked for (or reported by the webhook) that did not fail. */
export function productsToRead(report: { products: string[]; successfulProducts: string[] | null; failedProducts: string[] | null }): { income: boolean; partner: boolean } {
  const made = new Set(report.successfulProducts ?? report.products);
  for (const p of report.failedProducts ?? []) made.delete(p);
  return { income: made.has("cra_income_insights"), partner: made.has("cra_partner_insights") };
}

/**
 * Reads the report from Plaid: the base report always, income and partner insights when they were made. Nothing
 * from it is stored here (it is the customer's consumer report); each read is audited.
 */
export async function readReport(deps: ReportDeps, detail: NonNullable<ReturnType<typeof reportDetail>>, ctx: Ctx) {
  let who;
  try {
    who = plaidUserRef(deps, detail.user);
  } catch (error) {
    if (!(error instanceof UserTokenRefused)) throw error;
    return { base: { ok: false as const, error: refusedToken(error) }, income: null, partner: null };
  }
  const want = productsToRead(detail.report);
  const base = await section(() => deps.plaid.craCheckReportBaseReportGet(who), summarizeBaseReport);
  const income = base?.ok && want.income ? await section(() => deps.plaid.craCheckReportIncomeInsightsGet(who), summarizeIncome) : null;
  const partner = base?.ok && want.partner ? await section(() => deps.plaid.craCheckReportPartnerInsightsGet(who), summarizePartner) : null;
  recordAudit(deps.db, {
    actor: ctx.actor,
    action: "cra.report_view",
    targetType: "cra_report",
    targetId: detail.report.id,
    customerHash: detail.report.customerHash,
    clientAddress: ctx.clientAddress,
    details: { base: base?.ok ? "read" : base?.error.errorCode, income: income ? (income.ok ? "read" : income.error.errorCode) : "not made", partner: partner ? (partner.ok ? "read" : partner.error.errorCode) : "not made" },
    at: deps.now(),
  });
  return { base, income, partner };
}

export type UserItem = { itemId: string; institutionName: string | null; products: string[]; error: { code: string; type: string; message: string } | null };

/** The user's Items and their errors: what Plaid says to read when a report fails. */
export async function craUserItems(deps: ReportDeps, user: { customerHash: string; userId: string | null; userTokenEnc: string | null }): Promise<{ ok: true; items: UserItem[] } | { ok: false; error: ShownFailure }> {
  try {
    const who = plaidUserRef(deps, user);
    const res = await plaidCall(() => deps.plaid.userItemsGet(who));
    return {
      ok: true,
      items: res.items.map((i: Item) => ({
        itemId: i.item_id,
        institutionName: i.institution_name ?? i.institution_id ?? null,
        products: (i.products ?? []).map(String),
        error: i.error ? { code: i.error.error_code, type: String(i.error.error_type), message: i.error.error_message } : null,
      })),
    };
  } catch (error) {
    if (error instanceof PlaidCallError) return { ok: false, error: shown(error.failure) };
    if (error instanceof UserTokenRefused) return { ok: false, error: refusedToken(error) };
    throw error;
  }
}

export type ProbeOutcome = "not_ready" | "ready" | "expired" | "failed" | "older";

/**
 * For a request sent with no webhook back: asks base_report/get. PRODUCT_NOT_READY means Plaid is still working;
 * a report means the webhook was lost, and the request is settled from the report itself; a report error settles it
 * as failed. Anything else (rate limit, outage) changes nothing and is shown.
 */
export async function probeReport(deps: ReportDeps, reportId: number, ctx: Ctx): Promise<{ outcome: ProbeOutcome; message: string }> {
  const detail = reportDetail(deps.db, reportId);
  if (!detail) throw new Response("No report request with that number.", { status: 404 });
  const { report, user } = detail;
  if (report.status !== "pending" || !report.sentAt) throw new ReportRuleError(report.status === "queued" ? "This request has not been sent to Plaid yet; there is nothing to probe." : "This request is already settled.");
  if (detail.supersededBy) throw new ReportRuleError(`Plaid now serves report #${detail.supersededBy} for this user, so this request can no longer be probed.`);
  const now = deps.now();
  let result: { outcome: ProbeOutcome; message: string; requestId: string | null };
  const who = plaidUserRef(deps, user);
  try {
    const res = await plaidCall(() => deps.plaid.craCheckReportBaseReportGet(who));
    const generated = Date.parse(res.report.date_generated);
    const generatedAt = Number.isNaN(generated) ? now : new Date(generated);
    // Five minutes of slack for clocks that disagree; an older report is the one this request should replace.
    if (generatedAt.getTime() < report.sentAt.getTime() - 5 * 60_000) {
      result = { outcome: "older", message: `Plaid still serves the report generated ${res.report.date_generated}, from before this request: the new one is not ready.`, requestId: res.request_id };
      deps.db.update(craReports).set({ probedAt: now, probeCode: "OLDER_REPORT", probeRequestId: res.request_id }).where(eq(craReports.id, report.id)).run();
    } else {
      result = { outcome: "ready", message: `The report is ready (generated ${res.report.date_generated}); its webhook never arrived.`, requestId: res.request_id };
      deps.db.transaction((tx) => {
        const settled = tx.update(craReports).set({ status: "ready", completedAt: generatedAt, settledBy: "probe", probedAt: now, probeCode: "READY", probeRequestId: res.request_id }).where(and(eq(craReports.id, report.id), eq(craReports.status, "pending"))).run().changes;
        if (settled) recordConsoleStep(tx, { key: String(report.id), name: "report_ready", customerHash: report.customerHash, at: generatedAt });
      });
    }
  } catch (error) {
    if (!(error instanceof PlaidCallError)) throw error;
    const f = error.failure;
    if (f.errorCode === "PRODUCT_NOT_READY") {
      result = { outcome: "not_ready", message: "Plaid answered PRODUCT_NOT_READY: the report is still being generated. Probe again later.", requestId: f.requestId };
      deps.db.update(craReports).set({ probedAt: now, probeCode: f.errorCode, probeRequestId: f.requestId }).where(eq(craReports.id, report.id)).run();
    } else if (f.errorCode === "CONSUMER_REPORT_EXPIRED") {
      result = { outcome: "expired", message: "The report was generated and has already expired; regenerate it to read it.", requestId: f.requestId };
      deps.db.update(craReports).set({ status: "ready", settledBy: "probe", probedAt: now, probeCode: f.errorCode, probeRequestId: f.requestId }).where(and(eq(craReports.id, report.id), eq(craReports.status, "pending"))).run();
    } else if (f.errorType === "CHECK_REPORT_ERROR") {
      result = { outcome: "failed", message: `Plaid could not generate the report: ${f.errorCode}.`, requestId: f.requestId };
      deps.db.update(craReports).set({ status: "failed", completedAt: now, settledBy: "probe", errorCode: f.errorCode, errorMessage: f.errorMessage, probedAt: now, probeCode: f.errorCode, probeRequestId: f.requestId }).where(and(eq(craReports.id, report.id), eq(craReports.status, "pending"))).run();
    } else {
      throw error;
    }
  }
  recordAudit(deps.db, { actor: ctx.actor, action: "cra.report_probe", targetType: "cra_report", targetId: report.id, customerHash: report.customerHash, clientAddress: ctx.clientAddress, details: { outcome: result.outcome, requestId: result.requestId }, at: now });
  return { outcome: result.outcome, message: result.message };
}
