import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { redirect } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { isCustomerHash } from "~/customers/customer-id";
import { listAudit, recordAudit } from "~/staff/audit.server";
import { requirePermission } from "~/staff/guards.server";
import { CopyButton } from "~/ui/copy-button";
import { Time } from "~/ui/time";

export const meta: MetaFunction = () => [{ title: "Customer · Linkdesk" }];

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const raw = params.hash ?? "";
  if (isCustomerHash(raw.toLowerCase()) && raw !== raw.toLowerCase()) throw redirect(`/customers/${raw.toLowerCase()}`);
  if (!isCustomerHash(raw)) {
    throw new Response("A customer address ends in the 64 hex characters of the hashed customer id.", { status: 404 });
  }
  const now = context.now();
  recordAudit(context.db, { actor: staff, action: "customer.view", customerHash: raw, clientAddress: context.clientAddress, at: now });
  const { entries } = listAudit(context.db, { customerHash: raw }, { limit: 50 });
  return {
    hash: raw,
    activity: entries.map((e) => ({ id: e.id, at: e.at.getTime(), who: e.staffEmail, role: e.role, action: e.action })),
    now: now.getTime(),
  };
}

export default function Customer() {
  const { hash, activity, now } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link to="/customers" className="text-indigo-700 hover:underline">
          ← Find a customer
        </Link>
      </p>
      <div>
        <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">x-source-customer-id</p>
        <h1 className="flex items-center gap-2 break-all font-mono text-lg">
          <span data-testid="customer-hash">{hash}</span>
          <CopyButton value={hash} />
        </h1>
      </div>
      <section className="card" aria-labelledby="staff-activity">
        <h2 id="staff-activity" className="font-semibold">
          Staff activity on this customer
        </h2>
        <ul className="mt-2 divide-y divide-slate-100 text-sm">
          {activity.map((e) => (
            <li key={e.id} className="flex flex-wrap items-center justify-between gap-2 py-1.5">
              <span>
                <span className="font-mono text-xs">{e.action}</span>{" "}
                <span className="text-slate-600">
                  by {e.who ?? "unknown"} {e.role ? `(${e.role})` : ""}
                </span>
              </span>
              <Time value={e.at} now={now} />
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
