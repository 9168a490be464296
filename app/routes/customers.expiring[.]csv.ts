import type { LoaderFunctionArgs } from "@remix-run/node";
import { expiringAccounts } from "~/cardlytics/account-links.server";
import { parseExpiringQuery } from "~/cardlytics/expiring-query";
import { csvResponse } from "~/lib/csv";
import { recordAudit } from "~/staff/audit.server";
import { requirePermission } from "~/staff/guards.server";

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const q = parseExpiringQuery(new URL(request.url).searchParams, context.config.expiringWithinDays);
  if (q.error) throw new Response(q.error, { status: 400 });
  const now = context.now();
  recordAudit(context.db, { actor: staff, action: "cardlytics.expiring_export", clientAddress: context.clientAddress, details: { within: q.within, sort: q.sort }, at: now });
  function* rows() {
    const batch = 1000;
    for (let offset = 0; ; offset += batch) {
      const page = expiringAccounts(context.db, { until: new Date(now.getTime() + q.within * 86_400_000), sort: q.sort, limit: batch, offset });
      for (const r of page) {
        yield [r.customerHash, r.accountId, r.fiName, r.last4, r.cardType, r.expirationDate === null ? null : new Date(r.expirationDate), (r.expirationDate ?? 0) <= now.getTime() ? "expired" : "expiring", r.checkedAt];
      }
      if (page.length < batch) return;
    }
  }
  return csvResponse(`linkdesk-expiring-${q.within}d-${now.toISOString().slice(0, 10)}.csv`, ["customer_hash", "account_id", "institution", "last4", "card_type", "expires_utc", "state", "checked_at_utc"], rows());
}
