import type {
  CraCheckReportBaseReportGetResponse,
  CraCheckReportCreateResponse,
  CraCheckReportIncomeInsightsGetResponse,
  CraCheckReportPartnerInsightsGetResponse,
  UserCreateResponse,
  UserGetResponse,
  UserItemsGetResponse,
  UserRemoveResponse,
} from "plaid";
import { alphanumeric, uuid } from "../shared/ids";
import type { SimContext } from "./context";
import { fail, invalidRequest, requestId } from "./errors";
import { itemObject } from "./items";
import { baseReport, incomeInsights, partnerInsights } from "./report-bodies";
import type { SimItem, SimReport, SimUser } from "./state";
import { optStr, readFields, str } from "./validate";

const REPORT_LIFETIME_MS = 24 * 3600_000;
const CRA_PRODUCTS = ["cra_income_insights", "cra_cashflow_insights", "cra_partner_insights", "cra_network_insights", "cra_lend_score"];
export const PERMISSIBLE_PURPOSES = ["ACCOUNT_REVIEW_CREDIT", "ACCOUNT_REVIEW_NON_CREDIT", "EXTENSION_OF_CREDIT", "LEGITIMATE_BUSINESS_NEED_TENANT_SCREENING", "LEGITIMATE_BUSINESS_NEED_OTHER", "WRITTEN_INSTRUCTION_PREQUALIFICATION", "WRITTEN_INSTRUCTION_OTHER", "ELIGIBILITY_FOR_GOVT_BENEFITS"];

const identityError = (message: string) => fail(403, "USER_ERROR", "INVALID_USER_IDENTITY_DATA", message);
const E164 = /^\+[1-9]\d{7,14}$/;
// North American numbers must also have a real area code and exchange (neither starts with 0 or 1).
const validPhone = (p: unknown) => typeof p === "string" && E164.test(p) && (!p.startsWith("+1") || /^\+1[2-9]\d{2}[2-9]\d{6}$/.test(p));
const validEmail = (e: unknown) => typeof e === "string" && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e);
const validDate = (d: unknown) => typeof d === "string" && /^\d{4}-\d{2}-\d{2}$/.test(d) && !Number.isNaN(Date.parse(d));

function checkNewIdentity(identity: Record<string, unknown>): void {
  const name = identity.name as { given_name?: unknown; family_name?: unknown } | undefined;
  if (!name || typeof name.given_name !== "string" || !name.given_name || typeof name.family_name !== "string" || !name.family_name) identityError("identity.name needs given_name and family_name");
  if (!validDate(identity.date_of_birth)) identityError("identity.date_of_birth must be a date in YYYY-MM-DD format");
  const emails = identity.emails as { data?: unknown; primary?: unknown }[] | undefined;
  if (!Array.isArray(emails) || !emails.length || !emails.every((e) => validEmail(e?.data))) identityError("identity.emails must hold at least one valid email address");
  const phones = identity.phone_numbers as { data?: unknown }[] | undefined;
  if (!Array.isArray(phones) || !phones.length || !phones.every((p) => validPhone(p?.data))) identityError("identity.phone_numbers must hold at least one valid E.164 phone number");
  const addresses = identity.addresses as Record<string, unknown>[] | undefined;
  if (!Array.isArray(addresses) || !addresses.length) identityError("identity.addresses must hold at least one address");
  for (const a of addresses!) {
    if (!a || !["street_1", "city", "region", "postal_code"].every((k) => typeof a[k] === "string" && a[k])) identityError("each address needs street_1, city, region and postal_code");
    if (a.country !== "US") identityError("only US addresses are supported");
  }
}

function checkLegacyIdentity(identity: Record<string, unknown>): void {
  if (typeof identity.first_name !== "string" || typeof identity.last_name !== "string") identityError("consumer_report_user_identity needs first_name and last_name");
  if (!validDate(identity.date_of_birth)) identityError("consumer_report_user_identity.date_of_birth must be a date in YYYY-MM-DD format");
  if (!Array.isArray(identity.emails) || !identity.emails.length || !identity.emails.every(validEmail)) identityError("consumer_report_user_identity.emails must hold valid email addresses");
  if (!Array.isArray(identity.phone_numbers) || !identity.phone_numbers.length || !identity.phone_numbers.every(validPhone)) identityError("consumer_report_user_identity.phone_numbers must hold valid E.164 phone numbers");
  const a = identity.primary_address as Record<string, unknown> | undefined;
  if (!a || !["street", "city", "region", "postal_code", "country"].every((k) => typeof a[k] === "string" && a[k])) identityError("consumer_report_user_identity.primary_address needs street, city, region, postal_code and country");
}

export function userFrom(ctx: SimContext, body: Record<string, unknown>): SimUser {
  const key = optStr(body.user_id) ?? optStr(body.user_token);
  if (!key) invalidRequest("MISSING_FIELDS", "the following required fields are missing: user_id or user_token");
  const found = ctx.state.userByKey(key!);
  // Users belong to the client that made them: another client's user does not exist for this one.
  const user = found && found.clientId === ctx.client.clientId ? found : undefined;
  if (!user) {
    if (body.user_token !== undefined && body.user_id === undefined) fail(400, "INVALID_INPUT", "INVALID_USER_TOKEN", "could not find matching user token");
    fail(400, "USER_ERROR", "USER_NOT_FOUND", "the user_id provided does not match a user");
  }
  return user!;
}

function rateLimit(ctx: SimContext): void {
  const now = ctx.clock.now();
  ctx.state.craCalls = ctx.state.craCalls.filter((t) => t > now - 60_000);
  if (ctx.state.craCalls.length >= ctx.settings.craRateLimitPerMinute) {
    fail(429, "RATE_LIMIT_EXCEEDED", "RATE_LIMIT", "rate limit exceeded for attempts to access this endpoint. please try again later");
  }
  ctx.state.craCalls.push(now);
}

/** Decides how a report ends, from the user's Items and their test personas, and tells the report's webhook. */
function completeReport(ctx: SimContext, report: SimReport, user: SimUser): void {
  const items = ctx.state.itemsOfUser(user);
  const broken = items.filter((i) => i.error);
  if (!items.length) {
    report.state = "failed";
    report.failure = { code: "NO_ACCOUNTS", message: "No depository accounts were found for this user", causes: [] };
  } else if (broken.length) {
    report.state = "failed";
    report.failure = {
      code: "DATA_UNAVAILABLE",
      message: "Plaid could not retrieve data for one or more of the user's Items",
      causes: broken.map((i) => ({ ...i.error, item_id: i.itemId })),
    };
  } else {
    const failing = failingProducts(items);
    report.state = "ready";
    report.successfulProducts = ["cra_base_report", ...report.products.filter((p) => !failing.has(p))];
    report.failedProducts = report.products.filter((p) => failing.has(p));
  }
  if (!report.webhook) return;
  const ready = report.state === "ready";
  // The generation decides the code: the older API's CHECK_REPORT_*, the new User API's USER_CHECK_REPORT_*.
  const code = `${user.generation === "new" ? "USER_" : ""}CHECK_REPORT_${ready ? "READY" : "FAILED"}`;
  ctx.webhooks.send(report.webhook, {
    webhook_type: "CHECK_REPORT",
    webhook_code: code,
    user_id: user.userId,
    ...(ready ? { successful_products: report.successfulProducts, failed_products: report.failedProducts } : {}),
    item_ids: items.map((i) => i.itemId),
    environment: "sandbox",
  });
}

const failingProducts = (items: SimItem[]) => new Set(items.flatMap((i) => i.persona.craFailedProducts));

export type ReportRequest = { products: string[]; webhook: string | null; daysRequested: number; purpose: string; origin: SimReport["origin"] };

/** Starts generating a consumer report for the user; it is ready (or failed) after the configured delay. */
export function startReport(ctx: SimContext, user: SimUser, request: ReportRequest): SimReport {
  const now = ctx.clock.now();
  const report: SimReport = {
    requestId: requestId(),
    reportId: uuid(),
    userKey: user.userId,
    origin: request.origin,
    requestedAt: now,
    readyAt: now + ctx.settings.reportDelayMs,
    daysRequested: Math.max(180, request.daysRequested),
    products: request.products.filter((p) => p !== "cra_base_report"),
    purpose: request.purpose,
    webhook: request.webhook,
    state: "pending",
    successfulProducts: [],
    failedProducts: [],
    failure: null,
    lateProducts: new Map(),
  };
  ctx.state.reports.push(report);
  ctx.clock.setTimeout(() => completeReport(ctx, report, user), ctx.settings.reportDelayMs);
  return report;
}

/** Checks days_requested and the Check products the way /cra/check_report/create and cra_options both do. */
export function checkReportOptions(days: unknown, products: string[], field: string): number {
  if (typeof days !== "number" || !Number.isInteger(days) || days > 731) invalidRequest("INVALID_FIELD", `${field} must be an integer no greater than 731`);
  const unknownProducts = products.filter((p) => p !== "cra_base_report" && !CRA_PRODUCTS.includes(p));
  if (unknownProducts.length) invalidRequest("INVALID_FIELD", `products contains values that are not Plaid Check products: ${unknownProducts.join(", ")}`);
  return days as number;
}

export const isCraProduct = (p: string) => p === "cra_base_report" || CRA_PRODUCTS.includes(p);

const notReady = (): never =>
  fail(400, "CONSUMER_REPORT_ERROR", "PRODUCT_NOT_READY", "The consumer report you are trying to pull is not ready. Please wait for a CHECK_REPORT_READY webhook to fetch data");

/** The user's report if it can be read now; otherwise Plaid's error for why not. */
function readableReport(ctx: SimContext, body: Record<string, unknown>) {
  rateLimit(ctx);
  const user = userFrom(ctx, body);
  const report = ctx.state.latestReport(user);
  if (!report || report.state === "pending") notReady();
  if (report!.state === "failed") fail(400, "CHECK_REPORT_ERROR", report!.failure!.code, report!.failure!.message, null, { causes: report!.failure!.causes });
  // The guide: a report can be retrieved for 24 hours from when it was created, however long it took to generate.
  if (ctx.clock.now() >= report!.requestedAt + REPORT_LIFETIME_MS) {
    fail(400, "CONSUMER_REPORT_ERROR", "CONSUMER_REPORT_EXPIRED", "The consumer report has expired. Call /cra/check_report/create to generate a new one");
  }
  return { user, report: report!, items: ctx.state.itemsOfUser(user) };
}

/**
 * A product's part of the report. One the report was not generated with is made on the first request for it:
 * PRODUCT_NOT_READY until Plaid has it, then the data (or its failure, as for an eager product).
 */
function productReport(ctx: SimContext, body: Record<string, unknown>, product: string) {
  const read = readableReport(ctx, body);
  const { report, items } = read;
  if (!report.successfulProducts.includes(product) && !report.failedProducts.includes(product)) {
    const due = report.lateProducts.get(product);
    if (due === undefined) {
      report.lateProducts.set(product, ctx.clock.now() + ctx.settings.lateProductDelayMs);
      notReady();
    }
    if (ctx.clock.now() < due!) notReady();
    if (failingProducts(items).has(product)) report.failedProducts.push(product);
    else report.successfulProducts.push(product);
  }
  if (report.failedProducts.includes(product)) {
    const what = product.replace(/^cra_/, "").replaceAll("_", " ");
    fail(400, "CHECK_REPORT_ERROR", "INSUFFICIENT_TRANSACTION_DATA", `There is not enough transaction data to generate ${what} for this user`);
  }
  return read;
}

const GET_FIELDS = { user_id: "string", user_token: "string", item_ids: "string[]", user_tier: "string", options: "object", partner_insights: "object", third_party_user_token: "string" } as const;

export const craHandlers = {
  "/user/create": (ctx: SimContext, body: Record<string, unknown>, headers: Record<string, string | undefined>): UserCreateResponse => {
    const f = readFields(body, { client_user_id: "string" }, { identity: "object", consumer_report_user_identity: "object", end_customer: "string", with_upgraded_user: "boolean" });
    const clientUserId = str(f.client_user_id);
    if (!clientUserId.length || clientUserId.length > 128) invalidRequest("INVALID_FIELD", "client_user_id must be a non-empty string of at most 128 characters");
    if (validEmail(clientUserId) || E164.test(clientUserId)) invalidRequest("INVALID_FIELD", "client_user_id must not contain personally identifiable information");
    // Plaid picks the generation per client (by when it first used /user/create); the header, or
    // with_upgraded_user on an older client, overrides it for the request.
    const flag = headers["plaid-new-user-api-enabled"]?.toLowerCase();
    const generation = flag === "true" ? "new" : flag === "false" ? "legacy" : f.with_upgraded_user === true ? "new" : ctx.client.settings.userApi;
    if (generation === "legacy" && f.identity) invalidRequest("INVALID_FIELD", "identity is not supported for this client; send consumer_report_user_identity");
    if (f.identity) checkNewIdentity(f.identity as Record<string, unknown>);
    if (f.consumer_report_user_identity) checkLegacyIdentity(f.consumer_report_user_identity as Record<string, unknown>);
    const key = `${ctx.client.clientId}:${generation}:${clientUserId}`;
    const existing = ctx.state.usersByClientUserId.get(key);
    if (generation === "new" && existing && !existing.removed) return { user_id: existing.userId, request_id: requestId() };
    if (generation === "legacy" && existing) {
      invalidRequest("INVALID_FIELD", "a user has already been created for the given client_user_id; client_user_id values cannot be reused");
    }
    const now = ctx.clock.now();
    const user: SimUser = {
      generation,
      userId: generation === "new" ? `usr_${alphanumeric(14)}` : alphanumeric(29),
      userToken: generation === "legacy" ? `user-sandbox-${uuid()}` : null,
      clientId: ctx.client.clientId,
      clientUserId,
      identity: (f.identity ?? f.consumer_report_user_identity ?? null) as SimUser["identity"],
      createdAt: now,
      updatedAt: now,
      removed: false,
    };
    ctx.state.users.set(user.userId, user);
    if (user.userToken) ctx.state.users.set(user.userToken, user);
    ctx.state.usersByClientUserId.set(key, user);
    return user.userToken ? { user_token: user.userToken, user_id: user.userId, request_id: requestId() } : { user_id: user.userId, request_id: requestId() };
  },

  "/user/get": (ctx: SimContext, body: Record<string, unknown>): UserGetResponse => {
    const f = readFields(body, { user_id: "string" });
    if (!str(f.user_id).startsWith("usr_")) fail(400, "INVALID_INPUT", "INVALID_USER_ID", "user.user_id must be a user_id of the form usr_...");
    const user = userFrom(ctx, { user_id: f.user_id });
    return {
      user_id: user.userId,
      client_user_id: user.clientUserId,
      created_at: new Date(user.createdAt).toISOString(),
      updated_at: new Date(user.updatedAt).toISOString(),
      identity: user.generation === "new" ? (user.identity as UserGetResponse["identity"]) : null,
      request_id: requestId(),
    };
  },

  "/user/remove": (ctx: SimContext, body: Record<string, unknown>): UserRemoveResponse => {
    readFields(body, {}, { user_id: "string", user_token: "string" });
    const user = userFrom(ctx, body);
    for (const item of ctx.state.itemsOfUser(user)) item.removed = true;
    user.removed = true;
    return { request_id: requestId() };
  },

  "/user/items/get": (ctx: SimContext, body: Record<string, unknown>): UserItemsGetResponse => {
    readFields(body, {}, { user_id: "string", user_token: "string" });
    const user = userFrom(ctx, body);
    return { items: ctx.state.itemsOfUser(user).map(itemObject), request_id: requestId() };
  },

  "/cra/check_report/create": (ctx: SimContext, body: Record<string, unknown>): CraCheckReportCreateResponse => {
    const f = readFields(
      body,
      { webhook: "string", days_requested: "number", consumer_report_permissible_purpose: "string" },
      { user_id: "string", user_token: "string", products: "string[]", client_report_id: "string", days_required: "number", base_report: "object", cashflow_insights: "object", partner_insights: "object", lend_score: "object", network_insights: "object", income_insights: "object", include_investments: "boolean" },
    );
    rateLimit(ctx);
    const user = userFrom(ctx, body);
    if (!/^https?:\/\//.test(str(f.webhook))) invalidRequest("INVALID_FIELD", "webhook must be a valid http or https URL");
    const products = (f.products as string[] | undefined) ?? [];
    const days = checkReportOptions(f.days_requested, products, "days_requested");
    if (!PERMISSIBLE_PURPOSES.includes(str(f.consumer_report_permissible_purpose))) {
      invalidRequest("INVALID_FIELD", `consumer_report_permissible_purpose must be one of: ${PERMISSIBLE_PURPOSES.join(", ")}`);
    }
    const report = startReport(ctx, user, { products, webhook: str(f.webhook), daysRequested: days, purpose: str(f.consumer_report_permissible_purpose), origin: "check_report_create" });
    return { request_id: report.requestId };
  },

  "/cra/check_report/base_report/get": (ctx: SimContext, body: Record<string, unknown>): CraCheckReportBaseReportGetResponse => {
    readFields(body, {}, GET_FIELDS);
    const { report, items } = readableReport(ctx, body);
    return { report: baseReport(report, items), warnings: [], request_id: requestId() };
  },

  "/cra/check_report/income_insights/get": (ctx: SimContext, body: Record<string, unknown>): CraCheckReportIncomeInsightsGetResponse => {
    readFields(body, {}, GET_FIELDS);
    const { report, items } = productReport(ctx, body, "cra_income_insights");
    return { report: incomeInsights(report, items), warnings: [], request_id: requestId() } as CraCheckReportIncomeInsightsGetResponse;
  },

  "/cra/check_report/partner_insights/get": (ctx: SimContext, body: Record<string, unknown>): CraCheckReportPartnerInsightsGetResponse => {
    readFields(body, {}, GET_FIELDS);
    const { report, items } = productReport(ctx, body, "cra_partner_insights");
    return { report: partnerInsights(report, items), request_id: requestId() } as CraCheckReportPartnerInsightsGetResponse;
  },
};
