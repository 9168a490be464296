import type { LinkEvent, LinkTokenCreateResponse, LinkTokenGetResponse } from "plaid";
import { uuid } from "../shared/ids";
import type { SimContext } from "./context";
import { invalidInput, invalidRequest, PlaidFailure, requestId, type PlaidErrorBody } from "./errors";
import { institutionById, PRODUCTS } from "./fixtures";
import { createItem, mintPublicToken } from "./items";
import { checkReportOptions, isCraProduct, PERMISSIBLE_PURPOSES, startReport, userFrom } from "./cra";
import type { SimItem, SimLinkAccount, SimLinkSession, SimLinkToken } from "./state";
import { optStr, readFields, str } from "./validate";

const LINK_TOKEN_TTL_MS = 4 * 3600_000;
const CRA_OPTION_FIELDS = { days_requested: "number", days_required: "number", client_report_id: "string", partner_insights: "object", base_report: "object", cashflow_insights: "object", lend_score: "object", network_insights: "object", include_investments: "boolean", income_insights: "object" } as const;

/** Validates cra_options as the spec describes them: days_requested required, at most 731 (below 180 is raised). */
function readCraOptions(value: unknown): Record<string, unknown> {
  const options = readFields((value ?? {}) as Record<string, unknown>, { days_requested: "number" }, CRA_OPTION_FIELDS);
  checkReportOptions(options.days_requested, [], "cra_options.days_requested");
  const required = options.days_required;
  if (required !== undefined && required !== null && (!Number.isInteger(required) || (required as number) > 184)) invalidRequest("INVALID_FIELD", "cra_options.days_required must be an integer no greater than 184");
  return { ...options, days_requested: Math.max(180, options.days_requested as number) };
}

export const linkHandlers = {
  "/link/token/create": (ctx: SimContext, body: Record<string, unknown>): LinkTokenCreateResponse => {
    const f = readFields(
      body,
      { client_name: "string", language: "string", country_codes: "string[]" },
      { user: "object", user_id: "string", user_token: "string", products: "string[]", required_if_supported_products: "string[]", optional_products: "string[]", additional_consented_products: "string[]", webhook: "string", access_token: "string", redirect_uri: "string", android_package_name: "string", enable_multi_item_link: "boolean", cra_options: "object", consumer_report_permissible_purpose: "string", cra_enabled: "boolean", update: "object", hosted_link: "object", account_filters: "object", auth: "object", transactions: "object", statements: "object", link_customization_name: "string" },
    );
    if (str(f.client_name).length > 30) invalidRequest("INVALID_FIELD", "client_name must be at most 30 characters");
    const clientUserId = (f.user as { client_user_id?: unknown } | undefined)?.client_user_id;
    if (!f.user_id && typeof clientUserId !== "string") invalidRequest("MISSING_FIELDS", "the following required fields are missing: user.client_user_id");
    const products = (f.products as string[] | undefined) ?? [];
    if (!products.length && !f.access_token) invalidRequest("INVALID_FIELD", "products must contain at least one product");
    if (products.includes("balance")) invalidInput("INVALID_PRODUCT", "balance cannot be initialized with Link; use auth or transactions instead");
    const unknownProducts = products.filter((p) => !PRODUCTS.includes(p));
    if (unknownProducts.length) invalidRequest("INVALID_FIELD", `products contains unknown products: ${unknownProducts.join(", ")}`);
    const webhook = optStr(f.webhook) ?? null;
    if (webhook !== null && !/^https?:\/\//.test(webhook)) invalidRequest("INVALID_FIELD", "webhook must be a valid http or https URL");
    // The Plaid user the session links for: a Check (or Multi-Item) token must name one, by user_id or the older user_token.
    const hasUser = f.user_id !== undefined || f.user_token !== undefined;
    const user = hasUser ? userFrom(ctx, { user_id: f.user_id, user_token: f.user_token }) : null;
    const cra = products.some(isCraProduct);
    if (cra && !user) invalidRequest("MISSING_FIELDS", "the following required fields are missing: user_id (or the older user_token); Plaid Check products need a user from /user/create");
    if (cra && !products.includes("cra_base_report")) invalidRequest("INVALID_FIELD", "products must include cra_base_report when other Plaid Check products are requested");
    if (f.enable_multi_item_link === true && !user) invalidRequest("INVALID_FIELD", "enable_multi_item_link requires user_id (or the older user_token) from /user/create");
    const purpose = optStr(f.consumer_report_permissible_purpose) ?? null;
    if (purpose !== null && !PERMISSIBLE_PURPOSES.includes(purpose)) {
      invalidRequest("INVALID_FIELD", `consumer_report_permissible_purpose must be one of: ${PERMISSIBLE_PURPOSES.join(", ")}`);
    }
    if (!cra && purpose) invalidRequest("INVALID_FIELD", "consumer_report_permissible_purpose is only allowed with Plaid Check products");
    if (!cra && f.cra_options) invalidRequest("INVALID_FIELD", "cra_options is only allowed with Plaid Check products");
    // The Consumer Report guide: without a purpose, Link only connects the accounts, and the report comes from a later
    // /cra/check_report/create. The spec's older field text makes it required; a client can be held to that rule.
    if (cra && !purpose && ctx.client.settings.linkRequiresPermissiblePurpose) {
      invalidRequest("INVALID_FIELD", "consumer_report_permissible_purpose is required with Plaid Check products");
    }
    const craOptions = cra && f.cra_options ? readCraOptions(f.cra_options) : null;
    const now = ctx.clock.now();
    const token: SimLinkToken = {
      token: `link-sandbox-${uuid()}`,
      clientId: ctx.client.clientId,
      expiresAt: now + LINK_TOKEN_TTL_MS,
      webhook,
      clientName: str(f.client_name),
      products,
      userKey: user?.userId ?? null,
      clientUserId: typeof clientUserId === "string" ? clientUserId : null,
      createdAt: now,
      permissiblePurpose: cra ? purpose : null,
      craOptions,
      enableMultiItemLink: f.enable_multi_item_link === true,
      sessions: [],
    };
    ctx.state.linkTokens.set(token.token, token);
    return { link_token: token.token, expiration: new Date(token.expiresAt).toISOString(), request_id: requestId(), ...(f.user_id ? { user_id: str(f.user_id) } : {}) };
  },

  "/link/token/get": (ctx: SimContext, body: Record<string, unknown>): LinkTokenGetResponse => {
    const f = readFields(body, { link_token: "string" });
    const token = ctx.state.linkTokens.get(str(f.link_token));
    if (!token || token.clientId !== ctx.client.clientId) invalidInput("INVALID_LINK_TOKEN", "could not find matching link token");
    const t = token!;
    return {
      link_token: t.token,
      created_at: new Date(t.createdAt).toISOString(),
      expiration: new Date(t.expiresAt).toISOString(),
      metadata: {
        initial_products: t.products,
        webhook: t.webhook,
        country_codes: ["US"],
        language: "en",
        client_name: t.clientName,
        redirect_uri: null,
        ...(t.products.some(isCraProduct) ? { consumer_report_permissible_purpose: t.permissiblePurpose, cra_options: t.craOptions } : {}),
        ...(t.enableMultiItemLink ? { enable_multi_item_link: true } : {}),
      } as unknown as LinkTokenGetResponse["metadata"],
      link_sessions: t.sessions.map((s) => sessionView(t, s)) as LinkTokenGetResponse["link_sessions"],
      request_id: requestId(),
    };
  },
};

/** A finished session as /link/token/get reports it: onSuccess (or exit), the events, and the results per Item. */
function sessionView(token: SimLinkToken, s: SimLinkSession) {
  const cra = token.products.some(isCraProduct);
  const plaidInc = token.products.some((p) => !isCraProduct(p));
  const first = s.itemAdds[0];
  return {
    link_session_id: s.linkSessionId,
    started_at: new Date(s.startedAt).toISOString(),
    finished_at: new Date(s.finishedAt).toISOString(),
    events: s.events,
    ...(first ? { on_success: { public_token: first.publicToken, metadata: { institution: first.institution, accounts: first.accounts, link_session_id: s.linkSessionId, transfer_status: null } } } : {}),
    ...(s.exit ? { exit: { error: s.exit.error, metadata: { institution: s.exit.institution, status: s.exit.status, link_session_id: s.linkSessionId } } } : {}),
    results: {
      item_add_results: plaidInc ? s.itemAdds.map((a) => ({ public_token: a.publicToken, accounts: a.accounts, institution: a.institution })) : [],
      cra_item_add_results: cra ? s.itemAdds.map((a) => ({ item_id: a.itemId, accounts: a.accounts, institution: a.institution })) : [],
      cra_update_results: [],
      bank_income_results: [],
      payroll_income_results: [],
      document_income_results: null,
    },
  };
}

export const LINK_STEPS = ["OPEN", "SELECT_INSTITUTION", "SUBMIT_CREDENTIALS", "SELECT_ACCOUNT", "HANDOFF"] as const;
export type LinkStep = (typeof LINK_STEPS)[number];

/** One bank the user connects in the session. */
export type LinkItemInput = {
  institution_id: string;
  username?: string;
  password?: string;
  /** The accounts ticked at account select, by mask; omitted, every account is shared. */
  account_masks?: string[];
};

export type LinkSessionInput = LinkItemInput & {
  link_token: string;
  /** The last step the user reaches before closing Link; omitted, they finish. */
  exit_after?: Exclude<LinkStep, "HANDOFF">;
  /** With enable_multi_item_link: the further banks the user adds in the same session. */
  more_items?: LinkItemInput[];
};

export type LinkSessionResult = {
  link_session_id: string;
  status: "success" | "exited";
  /** The first Item's token (onSuccess); with Multi-Item Link every Item's token is in public_tokens. */
  public_token: string | null;
  public_tokens: string[];
  /** Link's onSuccess metadata: the institution and the accounts the user shared. */
  metadata: { institution: { institution_id: string; name: string }; accounts: SimLinkAccount[]; link_session_id: string; transfer_status: null } | null;
  error: PlaidErrorBody | null;
};

const linkAccount = (a: SimItem["accounts"][number]): SimLinkAccount => ({ id: a.account_id, name: a.name, mask: a.mask, type: String(a.type), subtype: a.subtype ? String(a.subtype) : null, verification_status: null, class_type: null });

/**
 * Plays one Link session as a user would: institution, credentials, account select and hand-off, the LINK webhooks
 * (EVENTS, ITEM_ADD_RESULT per Item, SESSION_FINISHED) to the link token's webhook. A finished session leaves an Item
 * per bank, holding only the accounts the user selected. With Plaid Check products and a permissible purpose, Plaid
 * then generates the user's consumer report and sends its CHECK_REPORT webhook.
 */
export function runLinkSession(ctx: SimContext, input: LinkSessionInput): LinkSessionResult {
  const token = ctx.state.linkTokens.get(input.link_token);
  if (!token || token.expiresAt <= ctx.clock.now()) invalidInput("INVALID_LINK_TOKEN", "could not find matching link token");
  const t = token!;
  if (input.more_items !== undefined && !(Array.isArray(input.more_items) && input.more_items.every((m) => m && typeof m === "object" && typeof m.institution_id === "string"))) {
    invalidRequest("INVALID_FIELD", "more_items is a list of {institution_id, username?, password?, account_masks?}");
  }
  const wanted: LinkItemInput[] = [input, ...(input.more_items ?? [])];
  for (const w of wanted) {
    if (w.account_masks !== undefined && !(Array.isArray(w.account_masks) && w.account_masks.every((m) => typeof m === "string"))) invalidRequest("INVALID_FIELD", "account_masks is a list of account masks, e.g. [\"0000\"]");
  }
  if (wanted.length > 1 && !t.enableMultiItemLink) invalidRequest("INVALID_FIELD", "more_items needs a link token created with enable_multi_item_link: true");
  if (input.exit_after && !(LINK_STEPS as readonly string[]).includes(input.exit_after)) invalidRequest("INVALID_FIELD", `exit_after must be one of: ${LINK_STEPS.slice(0, -1).join(", ")}`);
  for (const w of wanted) if (!institutionById(w.institution_id)) invalidInput("INVALID_INSTITUTION", "invalid institution_id provided");
  const sessionId = uuid();
  const startedAt = ctx.clock.now();
  const events: LinkEvent[] = [];
  const event = (name: string, metadata: LinkEvent["event_metadata"] = {}) =>
    events.push({ event_name: name, event_id: uuid(), timestamp: new Date(startedAt + events.length * 1500).toISOString(), event_metadata: { view_name: name, ...metadata } });
  const reached = (step: LinkStep) => !input.exit_after || LINK_STEPS.indexOf(step) <= LINK_STEPS.indexOf(input.exit_after);

  const added: SimLinkSession["itemAdds"] = [];
  let error: PlaidErrorBody | null = null;
  let lastInstitution: { institution_id: string; name: string } | null = null;
  event("OPEN");
  for (const w of input.exit_after ? [input] : wanted) {
    const institution = institutionById(w.institution_id)!;
    const institutionMeta = { institution_id: institution.institution_id, institution_name: institution.name };
    lastInstitution = { institution_id: institution.institution_id, name: institution.name };
    if (!reached("SELECT_INSTITUTION")) break;
    event("SELECT_INSTITUTION", institutionMeta);
    if (!reached("SUBMIT_CREDENTIALS")) break;
    event("SUBMIT_CREDENTIALS", institutionMeta);
    if (input.exit_after === "SUBMIT_CREDENTIALS") break;
    let item: SimItem;
    try {
      item = createItem(ctx, {
        institutionId: institution.institution_id,
        products: t.products.length ? t.products : ["transactions"],
        username: w.username ?? "user_good",
        password: w.password ?? "pass_good",
        webhook: t.webhook,
        userKey: t.userKey,
      });
    } catch (failure) {
      if (!(failure instanceof PlaidFailure)) throw failure;
      error = failure.response.body as PlaidErrorBody;
      event("ERROR", { ...institutionMeta, error_code: error.error_code, error_type: error.error_type, error_message: error.error_message });
      continue;
    }
    event("TRANSITION_VIEW", { ...institutionMeta, view_name: "SELECT_ACCOUNT" });
    if (input.exit_after === "SELECT_ACCOUNT") {
      item.removed = true; // closed at account select: nothing was shared
      break;
    }
    if (w.account_masks) {
      const chosen = item.accounts.filter((a) => w.account_masks!.includes(a.mask ?? ""));
      if (!chosen.length) {
        item.removed = true;
        invalidRequest("INVALID_FIELD", `account_masks selects none of the accounts at ${institution.name} (${item.accounts.map((a) => a.mask).join(", ")})`);
      }
      item.accounts = chosen;
    }
    added.push({ itemId: item.itemId, publicToken: mintPublicToken(ctx, item), institution: { institution_id: institution.institution_id, name: institution.name }, accounts: item.accounts.map(linkAccount) });
  }
  if (added.length) event("HANDOFF", { institution_id: added[0]!.institution.institution_id, institution_name: added[0]!.institution.name });
  else event("EXIT", { ...(lastInstitution ? { institution_id: lastInstitution.institution_id, institution_name: lastInstitution.name } : {}), exit_status: error ? "requires_credentials" : "institution_not_found", ...(error ? { error_code: error.error_code } : {}) });

  const status = added.length ? "success" : "exited";
  t.sessions.push({ linkSessionId: sessionId, startedAt, finishedAt: ctx.clock.now(), status, events, itemAdds: added, exit: added.length ? null : { error, institution: lastInstitution, status: error ? "requires_credentials" : "institution_not_found" } });
  if (t.webhook) {
    const base = { link_session_id: sessionId, link_token: t.token, environment: "sandbox" };
    ctx.webhooks.send(t.webhook, { webhook_type: "LINK", webhook_code: "EVENTS", events, ...base });
    for (const a of added) ctx.webhooks.send(t.webhook, { webhook_type: "LINK", webhook_code: "ITEM_ADD_RESULT", public_token: a.publicToken, ...base });
    ctx.webhooks.send(t.webhook, { webhook_type: "LINK", webhook_code: "SESSION_FINISHED", status, ...(added.length ? { public_tokens: added.map((a) => a.publicToken) } : {}), ...base });
  }
  // "Plaid Check will start generating the Consumer Report for your user once they have completed the Link process."
  const craProducts = t.products.filter(isCraProduct);
  if (added.length && craProducts.length && t.permissiblePurpose && t.userKey) {
    const user = ctx.state.userByKey(t.userKey);
    if (user) startReport(ctx, user, { products: craProducts, webhook: t.webhook, daysRequested: Number(t.craOptions?.days_requested ?? 365), purpose: t.permissiblePurpose, origin: "link" });
  }
  const first = added[0];
  return {
    link_session_id: sessionId,
    status,
    public_token: first?.publicToken ?? null,
    public_tokens: added.map((a) => a.publicToken),
    metadata: first ? { institution: first.institution, accounts: first.accounts, link_session_id: sessionId, transfer_status: null } : null,
    error: added.length ? null : error,
  };
}
