import { eq } from "drizzle-orm";
import type { Queryable } from "../../db/open";
import { plaidItems } from "../../db/schema";
import { recordLinkWebhook } from "../funnel/sources.server";
import { applyCheckReportWebhook } from "../reports/check-reports.server";

export type WebhookBody = { webhook_type?: unknown; webhook_code?: unknown; item_id?: unknown; user_id?: unknown; error?: { error_code?: unknown } | null; new_webhook_url?: unknown; successful_products?: unknown; failed_products?: unknown };

export type Handled = { status: "handled" | "ignored"; result: string };

const ITEM_STATUS: Record<string, "login-required" | "pending-disconnect" | "permission-revoked"> = {
  ITEM_LOGIN_REQUIRED: "login-required",
  USER_PERMISSION_REVOKED: "permission-revoked",
};

/**
 * Applies a verified webhook to the state it concerns. Runs inside the receiver's transaction: a throw rolls back
 * only the handler's own changes and is recorded on the event.
 */
export function handleWebhook(db: Queryable, body: WebhookBody, at: Date, eventId: number | null = null): Handled {
  const type = String(body.webhook_type ?? "");
  const code = String(body.webhook_code ?? "");
  if (type === "CHECK_REPORT") {
    const result = applyCheckReportWebhook(db, body, eventId, at);
    return { status: /^report #/.test(result) ? "handled" : "ignored", result };
  }
  if (type === "LINK") return recordLinkWebhook(db, body as Record<string, unknown>, at);
  if (type !== "ITEM") return { status: "ignored", result: `recorded; nothing in this console acts on ${type}/${code} yet` };
  const itemId = typeof body.item_id === "string" ? body.item_id : null;
  const item = itemId ? db.select({ status: plaidItems.status }).from(plaidItems).where(eq(plaidItems.itemId, itemId)).get() : undefined;
  if (!item) return { status: "ignored", result: `item ${itemId ?? "(none)"} is not recorded here` };
  if (item.status === "removed") return { status: "ignored", result: "the item was already removed" };
  const update = (set: Partial<typeof plaidItems.$inferInsert>, result: string): Handled => {
    db.update(plaidItems).set({ ...set, updatedAt: at }).where(eq(plaidItems.itemId, itemId!)).run();
    return { status: "handled", result };
  };
  switch (code) {
    case "ERROR": {
      const errorCode = typeof body.error?.error_code === "string" ? body.error.error_code : "UNKNOWN";
      return update({ status: ITEM_STATUS[errorCode] ?? item.status, errorCode }, `item error ${errorCode} recorded`);
    }
    case "USER_PERMISSION_REVOKED":
      return update({ status: "permission-revoked", errorCode: "USER_PERMISSION_REVOKED" }, "item marked permission-revoked");
    case "PENDING_DISCONNECT":
      return update({ status: "pending-disconnect" }, "item marked pending-disconnect");
    case "LOGIN_REPAIRED":
      return update({ status: "active", errorCode: null }, "item login repaired; marked active");
    case "WEBHOOK_UPDATE_ACKNOWLEDGED":
      return update({ webhookUrl: typeof body.new_webhook_url === "string" ? body.new_webhook_url : null }, "webhook URL change acknowledged");
    default:
      return { status: "ignored", result: `recorded; ITEM/${code} changes nothing here` };
  }
}
