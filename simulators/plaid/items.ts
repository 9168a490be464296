import type {
  AccountsGetResponse,
  Item,
  ItemGetResponse,
  ItemPublicTokenExchangeResponse,
  ItemRemoveResponse,
  ItemWebhookUpdateResponse,
  ProcessorAccountGetResponse,
  ProcessorTokenCreateResponse,
  SandboxItemFireWebhookResponse,
  SandboxItemResetLoginResponse,
  SandboxProcessorTokenCreateResponse,
  SandboxPublicTokenCreateResponse,
  WebhookVerificationKeyGetResponse,
} from "plaid";
import { ProcessorTokenCreateRequestProcessorEnum } from "plaid";
import { alphanumeric, uuid } from "../shared/ids";
import { fail, FORCEABLE_ERRORS, invalidInput, invalidRequest, requestId } from "./errors";
import { institutionById, PERSONAS, passwordAccepted, PRODUCTS } from "./fixtures";
import type { SimContext } from "./context";
import type { ItemError, SimItem } from "./state";
import { optStr, readFields, str } from "./validate";

const PUBLIC_TOKEN_TTL_MS = 30 * 60_000;
const PROCESSORS = new Set<string>(Object.values(ProcessorTokenCreateRequestProcessorEnum));
const FIRE_WEBHOOK_CODES = ["DEFAULT_UPDATE", "NEW_ACCOUNTS_AVAILABLE", "SMS_MICRODEPOSITS_VERIFICATION", "USER_PERMISSION_REVOKED", "USER_ACCOUNT_REVOKED", "PENDING_DISCONNECT", "RECURRING_TRANSACTIONS_UPDATE", "LOGIN_REPAIRED", "SYNC_UPDATES_AVAILABLE", "PRODUCT_READY", "ERROR"];
const FIRE_WEBHOOK_TYPES = ["AUTH", "HOLDINGS", "INVESTMENTS_TRANSACTIONS", "ITEM", "LIABILITIES", "TRANSACTIONS", "ASSETS"];

export function itemError(code: string): ItemError {
  const known = FORCEABLE_ERRORS[code];
  return {
    error_type: known?.type ?? "ITEM_ERROR",
    error_code: code,
    error_message: known?.message ?? code.toLowerCase().replaceAll("_", " "),
    display_message: known?.display ?? null,
    status: known?.status ?? 400,
  };
}

function liveItem(ctx: SimContext, accessToken: unknown): SimItem {
  if (typeof accessToken !== "string" || !/^access-(sandbox|production)-/.test(accessToken)) {
    invalidRequest("INVALID_FIELD", "provided access token is in an invalid format. expected format: access-<environment>-<identifier>");
  }
  const item = ctx.state.itemsByAccessToken.get(accessToken as string);
  if (!item) invalidInput("INVALID_ACCESS_TOKEN", "could not find matching access token");
  if (item!.removed) fail(400, "ITEM_ERROR", "ITEM_NOT_FOUND", "the Item you requested cannot be found. This Item does not exist, has been previously removed via /item/remove, or has had access removed by the user");
  return item!;
}

/** Product endpoints fail with the item's own error while it has one. */
function usableItem(ctx: SimContext, accessToken: unknown): SimItem {
  const item = liveItem(ctx, accessToken);
  if (item.error) fail(item.error.status, item.error.error_type, item.error.error_code, item.error.error_message, item.error.display_message);
  return item;
}

export function itemObject(item: SimItem): Item {
  const institution = institutionById(item.institutionId);
  return {
    available_products: ["balance", "identity", "signal"].filter((p) => !item.products.includes(p)) as Item["available_products"],
    billed_products: item.products as Item["billed_products"],
    products: item.products as Item["products"],
    consent_expiration_time: null,
    error: item.error ? { ...item.error } : null,
    institution_id: item.institutionId,
    institution_name: institution?.name ?? null,
    item_id: item.itemId,
    update_type: "background" as Item["update_type"],
    webhook: item.webhook,
    auth_method: "INSTANT_AUTH" as Item["auth_method"],
  } as Item;
}

/** Makes an Item the way Link would, applying the test user's persona and any forced error. */
export function createItem(ctx: SimContext, input: { institutionId: string; products: string[]; username: string; password: string; webhook: string | null; userKey: string | null }): SimItem {
  const institution = institutionById(input.institutionId);
  if (!institution) invalidInput("INVALID_INSTITUTION", "invalid institution_id provided");
  if (institution!.status === "down") fail(400, "INSTITUTION_ERROR", "INSTITUTION_DOWN", FORCEABLE_ERRORS.INSTITUTION_DOWN!.message, FORCEABLE_ERRORS.INSTITUTION_DOWN!.display);
  const unsupported = input.products.filter((p) => !institution!.products.includes(p));
  if (unsupported.length) fail(400, "ITEM_ERROR", "PRODUCTS_NOT_SUPPORTED", `the following products are not supported by this institution: ${unsupported.join(", ")}`);
  const forced = /^error_([A-Z_]+)$/.exec(input.password)?.[1];
  if (forced) {
    const e = itemError(forced);
    fail(e.status, e.error_type, e.error_code, e.error_message, e.display_message);
  }
  const persona = PERSONAS[input.username];
  if (!persona || !passwordAccepted(input.username, input.password)) {
    const e = itemError("INVALID_CREDENTIALS");
    fail(e.status, e.error_type, e.error_code, e.error_message, e.display_message);
  }
  const item: SimItem = {
    itemId: alphanumeric(37),
    accessToken: `access-sandbox-${uuid()}`,
    institutionId: institution!.institution_id,
    persona: persona!,
    accounts: persona!.accounts.map((a) => ({ ...a, balances: { ...a.balances }, account_id: alphanumeric(37) })),
    products: input.products,
    webhook: input.webhook,
    error: null,
    createdAt: ctx.clock.now(),
    removed: false,
    userKey: input.userKey,
    lastWebhook: null,
  };
  ctx.state.addItem(item);
  return item;
}

export function mintPublicToken(ctx: SimContext, item: SimItem): string {
  const token = `public-sandbox-${uuid()}`;
  ctx.state.publicTokens.set(token, { itemId: item.itemId, expiresAt: ctx.clock.now() + PUBLIC_TOKEN_TTL_MS, used: false });
  return token;
}

/** Item webhooks name the Item's user when it belongs to a new User API user. */
function ownerField(ctx: SimContext, item: SimItem): { user_id?: string } {
  const user = item.userKey ? ctx.state.users.get(item.userKey) : undefined;
  return user?.generation === "new" ? { user_id: user.userId } : {};
}

export function fireItemWebhook(ctx: SimContext, item: SimItem, code: string, extra: Record<string, unknown> = {}): void {
  if (!item.webhook) return;
  item.lastWebhook = { sent_at: new Date(ctx.clock.now()).toISOString(), code_sent: code };
  ctx.webhooks.send(item.webhook, { webhook_type: "ITEM", webhook_code: code, item_id: item.itemId, ...ownerField(ctx, item), ...extra, environment: "sandbox" });
}

function userKeyFrom(ctx: SimContext, userId: string | undefined, userToken: string | undefined): string | null {
  const key = userId ?? userToken;
  if (!key) return null;
  const user = ctx.state.userByKey(key);
  if (!user) fail(400, "USER_ERROR", "USER_NOT_FOUND", "the user_id or user_token provided does not match a user");
  return user!.userId;
}

export const itemHandlers = {
  "/sandbox/public_token/create": (ctx: SimContext, body: Record<string, unknown>): SandboxPublicTokenCreateResponse => {
    const f = readFields(body, { institution_id: "string", initial_products: "string[]" }, { options: "object", user_token: "string", user_id: "string" });
    const products = f.initial_products as string[];
    if (!products.length) invalidRequest("INVALID_FIELD", "initial_products must contain at least one product");
    const unknownProducts = products.filter((p) => !PRODUCTS.includes(p));
    if (unknownProducts.length) invalidRequest("INVALID_FIELD", `initial_products contains unknown products: ${unknownProducts.join(", ")}`);
    const options = readFields((f.options ?? {}) as Record<string, unknown>, {}, { webhook: "string", override_username: "string", override_password: "string", transactions: "object", statements: "object", income_verification: "object" });
    const item = createItem(ctx, {
      institutionId: str(f.institution_id),
      products,
      username: optStr(options.override_username) ?? "user_good",
      password: optStr(options.override_password) ?? "pass_good",
      webhook: optStr(options.webhook) ?? null,
      userKey: userKeyFrom(ctx, optStr(f.user_id), optStr(f.user_token)),
    });
    return { public_token: mintPublicToken(ctx, item), request_id: requestId() };
  },

  "/item/public_token/exchange": (ctx: SimContext, body: Record<string, unknown>): ItemPublicTokenExchangeResponse => {
    const f = readFields(body, { public_token: "string" });
    const token = str(f.public_token);
    if (!/^public-(sandbox|production)-/.test(token)) {
      invalidRequest("INVALID_FIELD", "provided public token is in an invalid format. expected format: public-<environment>-<identifier>");
    }
    const entry = ctx.state.publicTokens.get(token);
    if (!entry || entry.used || entry.expiresAt <= ctx.clock.now()) invalidInput("INVALID_PUBLIC_TOKEN", "could not find matching public token");
    entry!.used = true;
    const item = ctx.state.items.get(entry!.itemId)!;
    return { access_token: item.accessToken, item_id: item.itemId, request_id: requestId() };
  },

  "/accounts/get": (ctx: SimContext, body: Record<string, unknown>): AccountsGetResponse => {
    const f = readFields(body, { access_token: "string" }, { options: "object" });
    const item = usableItem(ctx, f.access_token);
    const ids = (f.options as { account_ids?: unknown } | undefined)?.account_ids;
    if (ids !== undefined && !(Array.isArray(ids) && ids.every((i) => typeof i === "string"))) invalidRequest("INVALID_FIELD", "options.account_ids must be an array of strings");
    const wanted = ids as string[] | undefined;
    if (wanted?.some((id) => !item.accounts.some((a) => a.account_id === id))) invalidInput("INVALID_ACCOUNT_ID", "failed to find requested account ID for requested item");
    return { accounts: item.accounts.filter((a) => !wanted || wanted.includes(a.account_id)), item: itemObject(item), request_id: requestId() };
  },

  "/item/get": (ctx: SimContext, body: Record<string, unknown>): ItemGetResponse => {
    const f = readFields(body, { access_token: "string" });
    const item = liveItem(ctx, f.access_token);
    return {
      item: { ...itemObject(item), created_at: new Date(item.createdAt).toISOString() } as unknown as ItemGetResponse["item"],
      status: { transactions: null, investments: null, last_webhook: item.lastWebhook } as ItemGetResponse["status"],
      request_id: requestId(),
    };
  },

  "/item/remove": (ctx: SimContext, body: Record<string, unknown>): ItemRemoveResponse => {
    const f = readFields(body, { access_token: "string" }, { reason_code: "string", reason_note: "string" });
    const item = liveItem(ctx, f.access_token);
    item.removed = true; // revokes the access token and every processor token made from it
    return { request_id: requestId() };
  },

  "/item/webhook/update": (ctx: SimContext, body: Record<string, unknown>): ItemWebhookUpdateResponse => {
    const f = readFields(body, { access_token: "string" }, { webhook: "string" });
    const item = liveItem(ctx, f.access_token);
    const webhook = optStr(f.webhook) ?? null;
    if (webhook !== null && !/^https?:\/\//.test(webhook)) invalidRequest("INVALID_FIELD", "webhook must be a valid http or https URL");
    item.webhook = webhook;
    fireItemWebhook(ctx, item, "WEBHOOK_UPDATE_ACKNOWLEDGED", { new_webhook_url: webhook, error: null });
    return { item: itemObject(item), request_id: requestId() };
  },

  "/processor/token/create": (ctx: SimContext, body: Record<string, unknown>): ProcessorTokenCreateResponse => {
    const f = readFields(body, { access_token: "string", account_id: "string", processor: "string" });
    if (!PROCESSORS.has(str(f.processor))) invalidRequest("INVALID_FIELD", `processor must be one of: ${[...PROCESSORS].join(", ")}`);
    // A partner integration is enabled per client under Dashboard > Integrations; without it Plaid refuses the partner.
    if (f.processor === "cardlytics" && !ctx.client.settings.cardlyticsIntegration) {
      invalidInput("INVALID_PRODUCT", 'client is not authorized to access the following products: ["cardlytics"]. Enable the Cardlytics integration under Dashboard > Integrations');
    }
    const item = usableItem(ctx, f.access_token);
    if (!item.accounts.some((a) => a.account_id === f.account_id)) invalidInput("INVALID_ACCOUNT_ID", "failed to find requested account ID for requested item");
    const token = `processor-sandbox-${uuid()}`;
    ctx.state.processorTokens.set(token, { itemId: item.itemId, accountId: str(f.account_id), processor: str(f.processor) });
    return { processor_token: token, request_id: requestId() };
  },

  "/sandbox/processor_token/create": (ctx: SimContext, body: Record<string, unknown>): SandboxProcessorTokenCreateResponse => {
    const f = readFields(body, { institution_id: "string" }, { options: "object" });
    const options = readFields((f.options ?? {}) as Record<string, unknown>, {}, { override_username: "string", override_password: "string" });
    const item = createItem(ctx, {
      institutionId: str(f.institution_id),
      products: ["auth"],
      username: optStr(options.override_username) ?? "user_good",
      password: optStr(options.override_password) ?? "pass_good",
      webhook: null,
      userKey: null,
    });
    const token = `processor-sandbox-${uuid()}`;
    ctx.state.processorTokens.set(token, { itemId: item.itemId, accountId: item.accounts[0]!.account_id, processor: null });
    return { processor_token: token, request_id: requestId() };
  },

  "/processor/account/get": (ctx: SimContext, body: Record<string, unknown>): ProcessorAccountGetResponse => {
    const f = readFields(body, { processor_token: "string" });
    const entry = ctx.state.processorTokens.get(str(f.processor_token));
    const item = entry && ctx.state.items.get(entry.itemId);
    if (!entry || !item || item.removed) invalidInput("INVALID_PROCESSOR_TOKEN", "provided processor token is invalid or has been revoked");
    if (item!.error) fail(item!.error.status, item!.error.error_type, item!.error.error_code, item!.error.error_message, item!.error.display_message);
    return { account: item!.accounts.find((a) => a.account_id === entry!.accountId)!, institution_id: item!.institutionId, request_id: requestId() };
  },

  "/sandbox/item/reset_login": (ctx: SimContext, body: Record<string, unknown>): SandboxItemResetLoginResponse => {
    const f = readFields(body, { access_token: "string" });
    const item = liveItem(ctx, f.access_token);
    item.error = itemError("ITEM_LOGIN_REQUIRED");
    fireItemWebhook(ctx, item, "ERROR", { error: { ...item.error } });
    return { reset_login: true, request_id: requestId() };
  },

  "/sandbox/item/fire_webhook": (ctx: SimContext, body: Record<string, unknown>): SandboxItemFireWebhookResponse => {
    const f = readFields(body, { access_token: "string", webhook_code: "string" }, { webhook_type: "string" });
    const item = liveItem(ctx, f.access_token);
    const code = str(f.webhook_code);
    const type = optStr(f.webhook_type) ?? (["DEFAULT_UPDATE", "SYNC_UPDATES_AVAILABLE", "RECURRING_TRANSACTIONS_UPDATE"].includes(code) ? "TRANSACTIONS" : "ITEM");
    if (!FIRE_WEBHOOK_CODES.includes(code)) invalidRequest("INVALID_FIELD", `webhook_code must be one of: ${FIRE_WEBHOOK_CODES.join(", ")}`);
    if (!FIRE_WEBHOOK_TYPES.includes(type)) invalidRequest("INVALID_FIELD", `webhook_type must be one of: ${FIRE_WEBHOOK_TYPES.join(", ")}`);
    if (!item.webhook) fail(400, "SANDBOX_ERROR", "SANDBOX_WEBHOOK_INVALID", "the Item has no webhook URL set; set one with /item/webhook/update");
    const productFor: Record<string, string> = { TRANSACTIONS: "transactions", ASSETS: "assets", AUTH: "auth", LIABILITIES: "liabilities", HOLDINGS: "investments", INVESTMENTS_TRANSACTIONS: "investments" };
    const needed = type === "ITEM" ? undefined : productFor[type];
    if (needed && !item.products.includes(needed)) fail(400, "SANDBOX_ERROR", "SANDBOX_PRODUCT_NOT_ENABLED", `the Item does not have the ${needed} product enabled`);
    const payloads: Record<string, Record<string, unknown>> = {
      USER_PERMISSION_REVOKED: { error: { ...itemError("USER_PERMISSION_REVOKED"), error_type: "ITEM_ERROR", error_message: "the user revoked access to this item" } },
      USER_ACCOUNT_REVOKED: { account_id: item.accounts[0]?.account_id },
      PENDING_DISCONNECT: { reason: "INSTITUTION_TOKEN_EXPIRATION", disconnect_time: new Date(ctx.clock.now() + 7 * 86_400_000).toISOString() },
      NEW_ACCOUNTS_AVAILABLE: { error: null },
      DEFAULT_UPDATE: { new_transactions: 3, error: null },
      SYNC_UPDATES_AVAILABLE: { initial_update_complete: true, historical_update_complete: true },
    };
    if (code === "USER_PERMISSION_REVOKED") item.error = itemError("USER_PERMISSION_REVOKED");
    if (code === "LOGIN_REPAIRED") item.error = null;
    item.lastWebhook = { sent_at: new Date(ctx.clock.now()).toISOString(), code_sent: code };
    ctx.webhooks.send(item.webhook!, { webhook_type: type, webhook_code: code, item_id: item.itemId, ...ownerField(ctx, item), ...payloads[code], environment: "sandbox" });
    return { webhook_fired: true, request_id: requestId() };
  },

  "/webhook_verification_key/get": (ctx: SimContext, body: Record<string, unknown>): WebhookVerificationKeyGetResponse => {
    const f = readFields(body, { key_id: "string" });
    const key = ctx.keys.find(str(f.key_id));
    if (!key) invalidInput("INVALID_WEBHOOK_VERIFICATION_KEY_ID", "invalid key_id provided");
    return { key: { ...key! }, request_id: requestId() };
  },
};
