import type { LinkEvent, LinkTokenCreateResponse, LinkTokenGetResponse } from "plaid";
import { uuid } from "../shared/ids";
import type { SimContext } from "./context";
import { invalidInput, invalidRequest, PlaidFailure, requestId, type PlaidErrorBody } from "./errors";
import { institutionById, PRODUCTS } from "./fixtures";
import { createItem, mintPublicToken } from "./items";
import { PERMISSIBLE_PURPOSES } from "./cra";
import type { SimLinkToken } from "./state";
import { optStr, readFields, str } from "./validate";

const LINK_TOKEN_TTL_MS = 4 * 3600_000;

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
    const cra = products.some((p) => p.startsWith("cra_"));
    const purpose = optStr(f.consumer_report_permissible_purpose);
    if (cra && (!purpose || !PERMISSIBLE_PURPOSES.includes(purpose))) invalidRequest("INVALID_FIELD", "consumer_report_permissible_purpose is required with Plaid Check products");
    if (!cra && purpose) invalidRequest("INVALID_FIELD", "consumer_report_permissible_purpose is only allowed with Plaid Check products");
    const now = ctx.clock.now();
    const token: SimLinkToken = {
      token: `link-sandbox-${uuid()}`,
      expiresAt: now + LINK_TOKEN_TTL_MS,
      webhook: optStr(f.webhook) ?? null,
      clientName: str(f.client_name),
      products,
      userKey: optStr(f.user_id) ?? optStr(f.user_token) ?? null,
      clientUserId: typeof clientUserId === "string" ? clientUserId : null,
      createdAt: now,
      sessions: [],
    };
    ctx.state.linkTokens.set(token.token, token);
    return { link_token: token.token, expiration: new Date(token.expiresAt).toISOString(), request_id: requestId(), ...(f.user_id ? { user_id: str(f.user_id) } : {}) };
  },

  "/link/token/get": (ctx: SimContext, body: Record<string, unknown>): LinkTokenGetResponse => {
    const f = readFields(body, { link_token: "string" });
    const token = ctx.state.linkTokens.get(str(f.link_token));
    if (!token) invalidInput("INVALID_LINK_TOKEN", "could not find matching link token");
    return {
      link_token: token!.token,
      created_at: new Date(token!.createdAt).toISOString(),
      expiration: new Date(token!.expiresAt).toISOString(),
      metadata: { initial_products: token!.products, webhook: token!.webhook, country_codes: ["US"], language: "en", client_name: token!.clientName, redirect_uri: null } as unknown as LinkTokenGetResponse["metadata"],
      link_sessions: token!.sessions.map((id) => ({ link_session_id: id, started_at: new Date(token!.createdAt).toISOString() })) as LinkTokenGetResponse["link_sessions"],
      request_id: requestId(),
    };
  },
};

export const LINK_STEPS = ["OPEN", "SELECT_INSTITUTION", "SUBMIT_CREDENTIALS", "HANDOFF"] as const;
export type LinkStep = (typeof LINK_STEPS)[number];

export type LinkSessionInput = {
  link_token: string;
  institution_id: string;
  username?: string;
  password?: string;
  /** The last step the user reaches before closing Link; omitted, they finish. */
  exit_after?: Exclude<LinkStep, "HANDOFF">;
};

export type LinkSessionResult = { link_session_id: string; status: "success" | "exited"; public_token: string | null; error: PlaidErrorBody | null };

/**
 * Plays one Link session as a user would: the LINK webhooks (EVENTS, ITEM_ADD_RESULT, SESSION_FINISHED) go to the
 * link token's webhook, and a finished session leaves an Item and a public token to exchange.
 */
export function runLinkSession(ctx: SimContext, input: LinkSessionInput): LinkSessionResult {
  const token = ctx.state.linkTokens.get(input.link_token);
  if (!token || token.expiresAt <= ctx.clock.now()) invalidInput("INVALID_LINK_TOKEN", "could not find matching link token");
  const institution = institutionById(input.institution_id);
  if (!institution) invalidInput("INVALID_INSTITUTION", "invalid institution_id provided");
  const sessionId = uuid();
  token!.sessions.push(sessionId);
  const events: LinkEvent[] = [];
  const event = (name: string, metadata: LinkEvent["event_metadata"] = {}) =>
    events.push({ event_name: name, event_id: uuid(), timestamp: new Date(ctx.clock.now() + events.length * 1500).toISOString(), event_metadata: { view_name: name, ...metadata } });
  const institutionMeta = { institution_id: institution!.institution_id, institution_name: institution!.name };

  let publicToken: string | null = null;
  let error: PlaidErrorBody | null = null;
  event("OPEN");
  const reached = (step: LinkStep) => !input.exit_after || LINK_STEPS.indexOf(step) <= LINK_STEPS.indexOf(input.exit_after);
  if (reached("SELECT_INSTITUTION")) event("SELECT_INSTITUTION", institutionMeta);
  if (reached("SUBMIT_CREDENTIALS")) {
    event("SUBMIT_CREDENTIALS", institutionMeta);
    if (!input.exit_after) {
      try {
        const item = createItem(ctx, {
          institutionId: institution!.institution_id,
          products: token!.products.length ? token!.products : ["transactions"],
          username: input.username ?? "user_good",
          password: input.password ?? "pass_good",
          webhook: token!.webhook,
          userKey: token!.userKey,
        });
        publicToken = mintPublicToken(ctx, item);
        event("HANDOFF", institutionMeta);
      } catch (failure) {
        if (!(failure instanceof PlaidFailure)) throw failure;
        error = failure.response.body as PlaidErrorBody;
        event("ERROR", { ...institutionMeta, error_code: error.error_code, error_type: error.error_type, error_message: error.error_message });
      }
    }
  }
  if (!publicToken) event("EXIT", { ...institutionMeta, exit_status: error ? "requires_credentials" : "institution_not_found", ...(error ? { error_code: error.error_code } : {}) });

  const status = publicToken ? "success" : "exited";
  if (token!.webhook) {
    const base = { link_session_id: sessionId, link_token: token!.token, environment: "sandbox" };
    ctx.webhooks.send(token!.webhook, { webhook_type: "LINK", webhook_code: "EVENTS", events, ...base });
    if (publicToken) ctx.webhooks.send(token!.webhook, { webhook_type: "LINK", webhook_code: "ITEM_ADD_RESULT", public_token: publicToken, ...base });
    ctx.webhooks.send(token!.webhook, { webhook_type: "LINK", webhook_code: "SESSION_FINISHED", status, ...(publicToken ? { public_tokens: [publicToken] } : {}), ...base });
  }
  return { link_session_id: sessionId, status, public_token: publicToken, error };
}
