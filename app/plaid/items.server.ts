import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { PlaidApi } from "plaid";
import { ProcessorTokenCreateRequestProcessorEnum, type Products, type WebhookType } from "plaid";
import type { Db } from "../../db/open";
import { auditLog, plaidAccounts, plaidItems, processorTokens } from "../../db/schema";
import type { CardlyticsClient } from "../cardlytics/client.server";
import { checkAccountLink } from "../cardlytics/account-links.server";
import type { Config } from "../config/env.server";
import { decryptToken, encryptToken, StoredTokenError, tokenBinding, tokenHint } from "../lib/token-crypto.server";
import { recordAudit, type Actor } from "../staff/audit.server";
import { touchCustomer } from "../cardlytics/account-links.server";
import { recordConsoleStep } from "../funnel/sources.server";
import { plaidCall, PlaidCallError } from "./client.server";
import { claimId, tokenFingerprint } from "../customers/identity.server";

export type PlaidDeps = { db: Db; plaid: PlaidApi; cardlytics: CardlyticsClient; config: Pick<Config, "tokenEncryptionKey" | "plaid">; now: () => Date };
export type ActionCtx = { actor: NonNullable<Actor>; clientAddress: string };

const PUBLIC_TOKEN_TTL_MS = 30 * 60_000;

function audit(deps: PlaidDeps, ctx: ActionCtx, action: string, fields: { itemId?: string; customerHash?: string; details?: Record<string, unknown> }) {
  recordAudit(deps.db, { actor: ctx.actor, action, targetType: fields.itemId ? "plaid_item" : undefined, targetId: fields.itemId, customerHash: fields.customerHash, clientAddress: ctx.clientAddress, details: fields.details, at: deps.now() });
}

/** /sandbox/public_token/create for a customer. The token goes back to the page, never into a log or the audit. */
export async function mintPublicToken(
  deps: PlaidDeps,
  input: { customerHash: string; institutionId: string; products: string[]; username: string; password: string; webhookUrl: string | null; checkUser?: { user_id: string } | { user_token: string } },
  ctx: ActionCtx,
) {
  try {
    const minted = await plaidCall(() =>
      deps.plaid.sandboxPublicTokenCreate({
        // Tied to a Plaid Check user, the item is one the user's consumer reports are built from.
        ...(input.checkUser ?? {}),
        institution_id: input.institutionId,
        initial_products: input.products as Products[],
        options: { override_username: input.username, override_password: input.password, ...(input.webhookUrl ? { webhook: input.webhookUrl } : {}) },
      }),
    );
    audit(deps, ctx, "plaid.sandbox_mint", { customerHash: input.customerHash, details: { institutionId: input.institutionId, products: input.products, persona: input.username, checkUser: Boolean(input.checkUser), requestId: minted.request_id } });
    return { publicToken: minted.public_token, expiresAt: deps.now().getTime() + PUBLIC_TOKEN_TTL_MS, requestId: minted.request_id };
  } catch (error) {
    if (error instanceof PlaidCallError) audit(deps, ctx, "plaid.sandbox_mint_failed", { customerHash: input.customerHash, details: { institutionId: input.institutionId, errorCode: error.failure.errorCode, requestId: error.failure.requestId } });
    throw error;
  }
}

/**
 * Exchanges a public token and stores the item with its accounts, all or nothing: if Plaid fails after the
 * exchange, the new item is removed again so no orphan access token is left behind.
 */
export async function exchangeAndStore(deps: PlaidDeps, input: { customerHash: string; publicToken: string }, ctx: ActionCtx): Promise<string> {
  const exchanged = await plaidCall(() => deps.plaid.itemPublicTokenExchange({ public_token: input.publicToken }));
  let accounts;
  try {
    accounts = await plaidCall(() => deps.plaid.accountsGet({ access_token: exchanged.access_token }));
  } catch (error) {
    await plaidCall(() => deps.plaid.itemRemove({ access_token: exchanged.access_token })).catch(() => undefined);
    throw error;
  }
  const now = deps.now();
  const item = accounts.item;
  deps.db.transaction((tx) => {
    touchCustomer(tx, input.customerHash, now);
    tx.insert(plaidItems)
      .values({
        itemId: exchanged.item_id,
        customerHash: input.customerHash,
        institutionId: item.institution_id ?? null,
        institutionName: item.institution_name ?? null,
        accessTokenEnc: encryptToken(deps.config.tokenEncryptionKey, exchanged.access_token, tokenBinding.accessToken(exchanged.item_id)),
        products: (item.products ?? item.billed_products ?? []) as string[],
        webhookUrl: item.webhook ?? null,
        status: "active",
        createdBy: ctx.actor.id,
        createdAt: now,
        updatedAt: now,
      })
      .run();
    for (const a of accounts.accounts) {
      tx.insert(plaidAccounts)
        .values({ accountId: a.account_id, itemId: exchanged.item_id, name: a.name, officialName: a.official_name, mask: a.mask, type: a.type, subtype: a.subtype, balances: a.balances as unknown as Record<string, unknown> })
        .run();
    }
    claimId(tx, { kind: "item", value: exchanged.item_id, customerHash: input.customerHash, source: "console", at: now });
    recordConsoleStep(tx, { key: exchanged.item_id, name: "item_added", customerHash: input.customerHash, at: now, itemId: exchanged.item_id, institutionId: item.institution_id ?? null, institutionName: item.institution_name ?? null });
  });
  audit(deps, ctx, "plaid.exchange", { itemId: exchanged.item_id, customerHash: input.customerHash, details: { accounts: accounts.accounts.length, requestId: exchanged.request_id } });
  return exchanged.item_id;
}

export function getItem(db: Db, itemId: string) {
  return db.select().from(plaidItems).where(eq(plaidItems.itemId, itemId)).get();
}

export function itemsOfCustomer(db: Db, customerHash: string) {
  return db
    .select({
      itemId: plaidItems.itemId,
      institutionName: plaidItems.institutionName,
      status: plaidItems.status,
      errorCode: plaidItems.errorCode,
      createdAt: plaidItems.createdAt,
      removedAt: plaidItems.removedAt,
      source: plaidItems.source,
      hasAccessToken: sql<boolean>`${plaidItems.accessTokenEnc} is not null`.mapWith(Boolean),
    })
    .from(plaidItems)
    .where(eq(plaidItems.customerHash, customerHash))
    .orderBy(desc(plaidItems.createdAt))
    .all();
}

export function accountsOfItem(db: Db, itemId: string) {
  return db.select().from(plaidAccounts).where(eq(plaidAccounts.itemId, itemId)).all();
}

export function processorTokensOfItem(db: Db, itemId: string) {
  return db
    .select({
      id: processorTokens.id,
      accountId: processorTokens.accountId,
      processor: processorTokens.processor,
      tokenHint: processorTokens.tokenHint,
      createdAt: processorTokens.createdAt,
      sentToCardlyticsAt: processorTokens.sentToCardlyticsAt,
      cardlyticsRequestId: processorTokens.cardlyticsRequestId,
      cardlyticsResult: processorTokens.cardlyticsResult,
      cardlyticsMessage: processorTokens.cardlyticsMessage,
      revokedAt: processorTokens.revokedAt,
      source: processorTokens.source,
      held: sql<boolean>`${processorTokens.tokenEnc} is not null`.mapWith(Boolean),
    })
    .from(processorTokens)
    .where(eq(processorTokens.itemId, itemId))
    .orderBy(desc(processorTokens.createdAt))
    .all();
}

/** Linkdesk holds no usable token to act with at the vendor: none was registered, or the stored one was refused. */
export class TokenUnavailable extends Error {
  constructor(
    readonly code: "NO_ACCESS_TOKEN" | "NO_PROCESSOR_TOKEN" | "STORED_TOKEN_REFUSED",
    message: string,
    readonly help: string,
  ) {
    super(message);
    this.name = "TokenUnavailable";
  }
}

function liveItem(deps: PlaidDeps, itemId: string) {
  const item = getItem(deps.db, itemId);
  if (!item) throw new Response("No Plaid item with that id is recorded here.", { status: 404 });
  if (!item.accessTokenEnc) {
    throw new TokenUnavailable(
      "NO_ACCESS_TOKEN",
      "The publisher registered this item without its access token, so Linkdesk cannot act on it at Plaid; what is shown comes from its webhooks.",
      "The publisher's backend can register the item's access_token through /api/customer-data to let Linkdesk read and act on it.",
    );
  }
  return { item, accessToken: usableToken(() => decryptToken(deps.config.tokenEncryptionKey, item.accessTokenEnc!, tokenBinding.accessToken(item.itemId))) };
}

/** A stored token that does not belong to its row is refused with the reason, never sent to a vendor. */
function usableToken(read: () => string): string {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof StoredTokenError)) throw error;
    throw new TokenUnavailable(
      "STORED_TOKEN_REFUSED",
      `${error.message} Nothing was sent to the vendor.`,
      "Link the item again from the Plaid sandbox page, or have the publisher register the token again through /api/customer-data.",
    );
  }
}

export const PROCESSOR_TOKEN_REFUSED = "plaid.processor_token_refused";

/**
 * When Plaid last refused a Cardlytics processor token because the integration is not enabled (for the customer, or
 * for anyone), if no processor token was made since: the integration is (still) off as far as this console knows.
 */
export function cardlyticsIntegrationRefusal(db: Db, customerHash?: string): { at: Date; requestId: string | null } | null {
  const refused = db
    .select({ at: auditLog.at, details: auditLog.details })
    .from(auditLog)
    .where(and(eq(auditLog.action, PROCESSOR_TOKEN_REFUSED), customerHash ? eq(auditLog.customerHash, customerHash) : undefined))
    .orderBy(desc(auditLog.id))
    .get();
  if (!refused || refused.details?.errorCode !== "INVALID_PRODUCT") return null;
  const since = db
    .select({ id: processorTokens.id })
    .from(processorTokens)
    .innerJoin(plaidItems, eq(plaidItems.itemId, processorTokens.itemId))
    .where(and(customerHash ? eq(plaidItems.customerHash, customerHash) : undefined, sql`${processorTokens.createdAt} > ${refused.at.getTime()}`))
    .get();
  return since ? null : { at: refused.at, requestId: typeof refused.details.requestId === "string" ? refused.details.requestId : null };
}

/** A Cardlytics processor token for one of the item's own accounts; the full token is returned once, here. */
export async function createProcessorToken(deps: PlaidDeps, input: { itemId: string; accountId: string }, ctx: ActionCtx): Promise<{ id: number; token: string }> {
  const { item, accessToken } = liveItem(deps, input.itemId);
  if (item.status === "removed") throw new PlaidCallError({ httpStatus: 400, errorType: "ITEM_ERROR", errorCode: "ITEM_NOT_FOUND", errorMessage: "this item was removed", displayMessage: null, requestId: null });
  let created;
  try {
    created = await plaidCall(() => deps.plaid.processorTokenCreate({ access_token: accessToken, account_id: input.accountId, processor: ProcessorTokenCreateRequestProcessorEnum.Cardlytics }));
  } catch (error) {
    // INVALID_PRODUCT here means the Cardlytics integration is not enabled for our Plaid client: kept, so the
    // customer's verdict can say why no processor token exists.
    if (error instanceof PlaidCallError && error.failure.errorCode === "INVALID_PRODUCT") {
      audit(deps, ctx, PROCESSOR_TOKEN_REFUSED, { itemId: item.itemId, customerHash: item.customerHash, details: { accountId: input.accountId, processor: "cardlytics", errorCode: error.failure.errorCode, errorMessage: error.failure.errorMessage, requestId: error.failure.requestId } });
    }
    throw error;
  }
  const now = deps.now();
  const { id } = deps.db.transaction((tx) => {
    const row = tx
      .insert(processorTokens)
      .values({ itemId: item.itemId, accountId: input.accountId, processor: "cardlytics", tokenHint: tokenHint(created.processor_token), createdBy: ctx.actor.id, createdAt: now })
      .returning({ id: processorTokens.id })
      .get();
    // Bound to its row, so the token is stored once the row has its id, in the same transaction.
    tx.update(processorTokens).set({ tokenEnc: encryptToken(deps.config.tokenEncryptionKey, created.processor_token, tokenBinding.processorToken(row.id)) }).where(eq(processorTokens.id, row.id)).run();
    claimId(tx, { kind: "processor_token", value: tokenFingerprint(created.processor_token), customerHash: item.customerHash, source: "console", at: now });
    recordConsoleStep(tx, { key: String(row.id), name: "processor_token_created", customerHash: item.customerHash, at: now, itemId: item.itemId });
    return row;
  });
  audit(deps, ctx, "plaid.processor_token_create", { itemId: item.itemId, customerHash: item.customerHash, details: { accountId: input.accountId, processor: "cardlytics", tokenId: id, requestId: created.request_id } });
  return { id, token: created.processor_token };
}

/** Hands a stored processor token to Cardlytics for the item's customer, then re-checks accountLink. */
export async function sendToCardlytics(deps: PlaidDeps, input: { itemId: string; tokenId: number }, ctx: ActionCtx) {
  const { item } = liveItem(deps, input.itemId);
  const row = deps.db.select().from(processorTokens).where(and(eq(processorTokens.id, input.tokenId), eq(processorTokens.itemId, item.itemId), isNull(processorTokens.revokedAt))).get();
  if (!row) throw new Response("That processor token is not a live token of this item.", { status: 404 });
  if (!row.tokenEnc) throw new TokenUnavailable("NO_PROCESSOR_TOKEN", "The publisher registered this processor token by its hint only; Linkdesk does not hold the token to send.", "Create a new processor token here, or have the publisher send its own to Cardlytics.");
  const result = await deps.cardlytics.connect(item.customerHash, usableToken(() => decryptToken(deps.config.tokenEncryptionKey, row.tokenEnc!, tokenBinding.processorToken(row.id))));
  deps.db
    .update(processorTokens)
    .set(result.ok ? { sentToCardlyticsAt: deps.now(), cardlyticsRequestId: result.requestId, cardlyticsResult: "connected", cardlyticsMessage: null } : { cardlyticsRequestId: result.requestId, cardlyticsResult: result.reason === "refused" || result.reason === "conflict" ? "refused" : "failed", cardlyticsMessage: result.message.slice(0, 500) })
    .where(eq(processorTokens.id, row.id))
    .run();
  audit(deps, ctx, result.ok ? "cardlytics.connect" : "cardlytics.connect_failed", { itemId: item.itemId, customerHash: item.customerHash, details: { tokenId: row.id, requestId: result.requestId, ...(result.ok ? {} : { reason: result.reason, httpStatus: result.httpStatus }) } });
  const check = result.ok ? await checkAccountLink(deps, { customerHash: item.customerHash, mockData: false, staffUserId: ctx.actor.id }) : null;
  return { result, check: check?.result ?? null };
}

/** Reads the item from Plaid and brings the stored status in line with it. */
export async function refreshItem(deps: PlaidDeps, itemId: string) {
  const { item, accessToken } = liveItem(deps, itemId);
  if (item.status === "removed") return { item, live: null };
  const live = await plaidCall(() => deps.plaid.itemGet({ access_token: accessToken }));
  const code = live.item.error?.error_code ?? null;
  const status = code === "ITEM_LOGIN_REQUIRED" ? "login-required" : code === "USER_PERMISSION_REVOKED" ? "permission-revoked" : item.status === "pending-disconnect" && !code ? "pending-disconnect" : "active";
  deps.db.update(plaidItems).set({ status, errorCode: code, webhookUrl: live.item.webhook ?? null, updatedAt: deps.now() }).where(eq(plaidItems.itemId, itemId)).run();
  return { item: getItem(deps.db, itemId)!, live };
}

export async function resetLogin(deps: PlaidDeps, itemId: string, ctx: ActionCtx) {
  const { item, accessToken } = liveItem(deps, itemId);
  const res = await plaidCall(() => deps.plaid.sandboxItemResetLogin({ access_token: accessToken }));
  deps.db.update(plaidItems).set({ status: "login-required", errorCode: "ITEM_LOGIN_REQUIRED", updatedAt: deps.now() }).where(eq(plaidItems.itemId, itemId)).run();
  audit(deps, ctx, "plaid.sandbox_reset_login", { itemId, customerHash: item.customerHash, details: { requestId: res.request_id } });
}

export async function fireWebhook(deps: PlaidDeps, itemId: string, code: string, ctx: ActionCtx) {
  const { item, accessToken } = liveItem(deps, itemId);
  const webhookType = (["DEFAULT_UPDATE", "SYNC_UPDATES_AVAILABLE"].includes(code) ? "TRANSACTIONS" : "ITEM") as WebhookType;
  const res = await plaidCall(() => deps.plaid.sandboxItemFireWebhook({ access_token: accessToken, webhook_code: code as never, webhook_type: webhookType }));
  audit(deps, ctx, "plaid.sandbox_fire_webhook", { itemId, customerHash: item.customerHash, details: { code, requestId: res.request_id } });
}

export async function updateWebhookUrl(deps: PlaidDeps, itemId: string, url: string | null, ctx: ActionCtx) {
  const { item, accessToken } = liveItem(deps, itemId);
  const res = await plaidCall(() => deps.plaid.itemWebhookUpdate({ access_token: accessToken, webhook: url }));
  deps.db.update(plaidItems).set({ webhookUrl: url, updatedAt: deps.now() }).where(eq(plaidItems.itemId, itemId)).run();
  audit(deps, ctx, "plaid.webhook_update", { itemId, customerHash: item.customerHash, details: { webhookUrl: url, requestId: res.request_id } });
}

/** /item/remove: the access token and every processor token made from it stop working. */
export async function removeItem(deps: PlaidDeps, itemId: string, ctx: ActionCtx) {
  const { item, accessToken } = liveItem(deps, itemId);
  const res = await plaidCall(() => deps.plaid.itemRemove({ access_token: accessToken }));
  const now = deps.now();
  deps.db.transaction((tx) => {
    tx.update(plaidItems).set({ status: "removed", removedAt: now, updatedAt: now }).where(eq(plaidItems.itemId, itemId)).run();
    tx.update(processorTokens).set({ revokedAt: now }).where(and(eq(processorTokens.itemId, itemId), isNull(processorTokens.revokedAt))).run();
  });
  audit(deps, ctx, "plaid.item_remove", { itemId, customerHash: item.customerHash, details: { requestId: res.request_id } });
}
