import type { LoaderFunctionArgs } from "@remix-run/node";
import { csvResponse } from "~/lib/csv";
import { reportState } from "~/reports/check-reports.server";
import { iterateReports, parseReportFilter } from "~/reports/report-list.server";
import { recordAudit } from "~/staff/audit.server";
import { requirePermission } from "~/staff/guards.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const { filter, values, errors } = parseReportFilter(new URL(request.url).searchParams);
  if (Object.keys(errors).length) throw new Response(`Fix the filter before exporting: ${Object.values(errors).join("; ")}`, { status: 400 });
  const now = context.now();
  const clock = { now: now.getTime(), webhookTimeoutMs: context.config.cra.webhookTimeoutMs };
  recordAudit(context.db, { actor: staff, action: "cra.report_export", clientAddress: context.clientAddress, details: { filter: values }, at: now });
  function* rows() {
    for (const r of iterateReports(context.db, filter, clock)) {
      yield [r.id, reportState(r, clock.now, clock.webhookTimeoutMs), r.customerHash, r.origin === "plaid" ? "plaid" : r.requesterEmail, r.bulkRunId, r.requestedAt, r.sentAt, r.completedAt, r.settledBy, r.purpose, r.daysRequested, r.products.join(" "), r.failedProducts?.join(" "), r.errorCode, r.plaidRequestId];
    }
  }
  return csvResponse(`linkdesk-check-reports-${now.toISOString().slice(0, 10)}.csv`, ["report", "state", "customer_hash", "requested_by", "bulk_run", "requested_at_utc", "sent_at_utc", "settled_at_utc", "settled_by", "purpose", "days_requested", "products", "failed_products", "error_code", "plaid_request_id"], rows());
}
