import { eq } from "drizzle-orm";
import type { PlaidApi } from "plaid";
import type { Db } from "../../db/open";
import { plaidItems } from "../../db/schema";
import type { Config } from "../config/env.server";
import { decryptToken, StoredTokenError, tokenBinding } from "../lib/token-crypto.server";
import { plaidCall, PlaidCallError } from "./client.server";
import { plaidErrorHelp } from "./error-help";
import { storedTokenRefusal, type ShownPlaidError } from "./guards.server";

export type LiveDeps = { db: Db; plaid: PlaidApi; config: Pick<Config, "tokenEncryptionKey">; now: () => Date };

type ItemStatus = (typeof plaidItems.$inferSelect)["status"];
export type LiveAccount = { accountId: string; name: string; mask: string | null; type: string; subtype: string | null; current: number | null; available: number | null; currency: string | null };
export type LiveItem =
  | {
      itemId: string;
      ok: true;
      status: ItemStatus;
      errorCode: string | null;
      errorMessage: string | null;
      consentExpiresAt: number | null;
      lastWebhook: { sentAt: number; code: string; received: boolean } | null;
      accounts: LiveAccount[];
      requestIds: string[];
    }
  | { itemId: string; ok: false; error: ShownPlaidError };

/** What /item/get's error says about the item, in the console's own status words. */
function statusFrom(code: string | null, stored: ItemStatus): ItemStatus {
  if (code === "ITEM_LOGIN_REQUIRED") return "login-required";
  if (code === "USER_PERMISSION_REVOKED") return "permission-revoked";
  if (code === "ITEM_NOT_FOUND") return "removed";
  return stored === "pending-disconnect" && !code ? "pending-disconnect" : "active";
}

/** A stored access token that does not belong to its item is shown as the item's error; Plaid is not called. */
function storedTokenRefused(error: StoredTokenError): ShownPlaidError {
  return storedTokenRefusal(error.message, "Plaid was not called with it. Link the item again from the Plaid sandbox page, or have the publisher register its access token again through the customer-data API.");
}

// Plaid stamps sent_at when it sends; a delivery of that code received from a minute before on counts as received.
const RECEIVED_SLACK_MS = 60_000;

/**
 * Reads an item live from Plaid (/item/get and /accounts/get, side by side) with the access token Linkdesk holds,
 * and brings the stored status in line. A webhook Plaid says it sent that never reached this console is flagged.
 * Never throws: a Plaid error comes back as the error to show, with its next step.
 */
export async function readItemLive(deps: LiveDeps, itemId: string): Promise<LiveItem> {
  const item = deps.db.select().from(plaidItems).where(eq(plaidItems.itemId, itemId)).get();
  if (!item?.accessTokenEnc) throw new Error(`item ${itemId} has no access token on record`);
  let accessToken: string;
  try {
    accessToken = decryptToken(deps.config.tokenEncryptionKey, item.accessTokenEnc, tokenBinding.accessToken(item.itemId));
  } catch (error) {
    if (!(error instanceof StoredTokenError)) throw error;
    return { itemId, ok: false, error: storedTokenRefused(error) };
  }
  try {
    const [got, accounts] = await Promise.all([
      plaidCall(() => deps.plaid.itemGet({ access_token: accessToken })),
      plaidCall(() => deps.plaid.accountsGet({ access_token: accessToken })).catch((error: unknown) => error as PlaidCallError),
    ]);
    const errorCode = got.item.error?.error_code ?? null;
    const status = statusFrom(errorCode, item.status);
    if (status !== item.status || errorCode !== item.errorCode) {
      deps.db.update(plaidItems).set({ status, errorCode, updatedAt: deps.now() }).where(eq(plaidItems.itemId, itemId)).run();
    }
    const last = got.status?.last_webhook;
    const sentAt = last?.sent_at ? Date.parse(last.sent_at) : Number.NaN;
    const lastWebhook =
      last?.code_sent && Number.isFinite(sentAt)
        ? {
            sentAt,
            code: last.code_sent,
            received: Boolean(
              deps.db.$client.prepare("select 1 from webhook_deliveries where item_id = ? and webhook_code = ? and received_at >= ? limit 1").get(itemId, last.code_sent, sentAt - RECEIVED_SLACK_MS),
            ),
          }
        : null;
    const consent = got.item.consent_expiration_time ? Date.parse(got.item.consent_expiration_time) : Number.NaN;
    return {
      itemId,
      ok: true,
      status,
      errorCode,
      errorMessage: got.item.error?.error_message ?? null,
      consentExpiresAt: Number.isFinite(consent) ? consent : null,
      lastWebhook,
      accounts:
        accounts instanceof PlaidCallError
          ? []
          : accounts.accounts.map((a) => ({
              accountId: a.account_id,
              name: a.name,
              mask: a.mask ?? null,
              type: String(a.type),
              subtype: a.subtype ? String(a.subtype) : null,
              current: a.balances.current ?? null,
              available: a.balances.available ?? null,
              currency: a.balances.iso_currency_code ?? null,
            })),
      requestIds: [got.request_id, ...(accounts instanceof PlaidCallError ? [] : [accounts.request_id])],
    };
  } catch (error) {
    if (!(error instanceof PlaidCallError)) throw error;
    const f = error.failure;
    if (f.errorCode === "ITEM_LOGIN_REQUIRED" || f.errorCode === "ITEM_NOT_FOUND") {
      const status = statusFrom(f.errorCode, item.status);
      deps.db.update(plaidItems).set({ status, errorCode: f.errorCode, updatedAt: deps.now() }).where(eq(plaidItems.itemId, itemId)).run();
    }
    return { itemId, ok: false, error: { ...f, help: plaidErrorHelp(f.errorCode) } };
  }
}

/** Every live item of a customer that Linkdesk can read, read side by side. */
export async function readItemsLive(deps: LiveDeps, itemIds: string[]): Promise<LiveItem[]> {
  return Promise.all(itemIds.map((id) => readItemLive(deps, id)));
}
