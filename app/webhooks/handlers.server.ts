import type { Db } from "../../db/open";
import type { plaidItems } from "../../db/schema";
import { recordLinkWebhook } from "../funnel/sources.server";
import { applyCheckReportWebhook } from "../reports/check-reports.server";

export type WebhookBody = { webhook_type?: unknown; webhook_code?: unknown; item_id?: unknown; user_id?: unknown; link_session_id?: unknown; error?: { error_code?: unknown } | null; new_webhook_url?: unknown; successful_products?: unknown; failed_products?: unknown };

export type Handled = { status: "handled" | "ignored"; result: string };

const ITEM_STATUS: Record<string, "login-required" | "pending-disconnect" | "permission-revoked"> = {
  ITEM_LOGIN_REQUIRED: "login-required",
  USER_PERMISSION_REVOKED: "permission-revoked",
};

type ItemStatus = (typeof plaidItems.$inferSelect)["status"];

// ITEM webhooks are the bulk of Plaid's traffic: their statements are prepared once per database handle.
const prepared = new WeakMap<object, ReturnType<typeof prepare>>();
function prepare(db: Db) {
  const c = db.$client;
  return {
    item: c.prepare("select status from plaid_items where item_id = ?"),
    setStatus: c.prepare("update plaid_items set status = ?, error_code = ?, updated_at = ? where item_id = ?"),
    setStatusKeepError: c.prepare("update plaid_items set status = ?, updated_at = ? where item_id = ?"),
    setWebhookUrl: c.prepare("update plaid_items set webhook_url = ?, updated_at = ? where item_id = ?"),
  };
}
function statementsFor(db: Db) {
  let s = prepared.get(db.$client);
  if (!s) prepared.set(db.$client, (s = prepare(db)));
  return s;
}

/**
 * Applies a verified webhook to the state it concerns. Runs inside the receiver's transaction, in a savepoint of its
 * own: a throw rolls back only the handler's changes and is recorded on the event.
 */
export function handleWebhook(db: Db, body: WebhookBody, at: Date, eventId: number | null = null): Handled {
  const type = String(body.webhook_type ?? "");
  const code = String(body.webhook_code ?? "");
  if (type === "CHECK_REPORT") {
    const result = applyCheckReportWebhook(db, body, eventId, at);
    return { status: /^report #/.test(result) ? "handled" : "ignored", result };
  }
  if (type === "LINK") return recordLinkWebhook(db, body as Record<string, unknown>, at);
  if (type !== "ITEM") return { status: "ignored", result: `recorded; nothing in this console acts on ${type}/${code} yet` };
  const itemId = typeof body.item_id === "string" ? body.item_id : null;
  const s = statementsFor(db);
  const item = itemId ? (s.item.get(itemId) as { status: ItemStatus } | undefined) : undefined;
  if (!itemId || !item) return { status: "ignored", result: `item ${itemId ?? "(none)"} is not recorded here` };
  if (item.status === "removed") return { status: "ignored", result: "the item was already removed" };
  const ms = at.getTime();
  const handled = (result: string): Handled => ({ status: "handled", result });
  switch (code) {
    case "ERROR": {
      const errorCode = typeof body.error?.error_code === "string" ? body.error.error_code : "UNKNOWN";
      s.setStatus.run(ITEM_STATUS[errorCode] ?? item.status, errorCode, ms, itemId);
      return handled(`item error ${errorCode} recorded`);
    }
    case "USER_PERMISSION_REVOKED":
      s.setStatus.run("permission-revoked", "USER_PERMISSION_REVOKED", ms, itemId);
      return handled("item marked permission-revoked");
    case "PENDING_DISCONNECT":
      s.setStatusKeepError.run("pending-disconnect", ms, itemId);
      return handled("item marked pending-disconnect");
    case "LOGIN_REPAIRED":
      s.setStatus.run("active", null, ms, itemId);
      return handled("item login repaired; marked active");
    case "WEBHOOK_UPDATE_ACKNOWLEDGED":
      s.setWebhookUrl.run(typeof body.new_webhook_url === "string" ? body.new_webhook_url : null, ms, itemId);
      return handled("webhook URL change acknowledged");
    default:
      return { status: "ignored", result: `recorded; ITEM/${code} changes nothing here` };
  }
}
