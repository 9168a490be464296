import type { LoaderFunctionArgs } from "@remix-run/node";
import { csvResponse } from "~/lib/csv";
import { iterateAudit, recordAudit } from "~/staff/audit.server";
import { parseAuditQuery } from "~/staff/audit-filter";
import { requirePermission } from "~/staff/guards.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const admin = await requirePermission(request, context, "view:audit");
  const { filter, values, errors } = parseAuditQuery(new URL(request.url).searchParams);
  if (Object.keys(errors).length) {
    throw new Response(`Fix the filter before exporting: ${Object.values(errors).join("; ")}`, { status: 400 });
  }
  recordAudit(context.db, {
    actor: admin,
    action: "audit.export",
    clientAddress: context.clientAddress,
    details: { filter: values },
    at: context.now(),
  });
  function* rows() {
    for (const e of iterateAudit(context.db, filter)) {
      yield [e.id, e.at, e.staffEmail, e.role, e.action, e.targetType, e.targetId, e.customerHash, e.clientAddress, e.details];
    }
  }
  const stamp = context.now().toISOString().slice(0, 10);
  return csvResponse(`linkdesk-audit-${stamp}.csv`, ["id", "at_utc", "staff_email", "role", "action", "target_type", "target_id", "customer_hash", "client_address", "details"], rows());
}
