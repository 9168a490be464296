import type { LoaderFunctionArgs } from "@remix-run/node";
import { csvResponse } from "~/lib/csv";
import { recordAudit } from "~/staff/audit.server";
import { requirePermission } from "~/staff/guards.server";
import { iterateDeliveries, parseWebhookFilter } from "~/webhooks/history.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const { filter, values, errors } = parseWebhookFilter(new URL(request.url).searchParams);
  if (Object.keys(errors).length) throw new Response(`Fix the filter before exporting: ${Object.values(errors).join("; ")}`, { status: 400 });
  recordAudit(context.db, { actor: staff, action: "webhook.export", clientAddress: context.clientAddress, details: { filter: values }, at: context.now() });
  function* rows() {
    for (const r of iterateDeliveries(context.db, filter)) {
      yield [r.id, r.receivedAt, r.webhookType, r.webhookCode, r.verdict, r.answeredStatus, r.reason, r.handlingStatus, r.itemId, r.userId, r.customerHash];
    }
  }
  return csvResponse(`linkdesk-webhooks-${context.now().toISOString().slice(0, 10)}.csv`, ["delivery_id", "received_at_utc", "webhook_type", "webhook_code", "verdict", "answered_status", "reason", "handling_status", "item_id", "user_id", "customer_hash"], rows());
}
