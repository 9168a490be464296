import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { environmentBadge } from "~/config/env.server";
import { listAudit } from "~/staff/audit.server";
import { requirePermission } from "~/staff/guards.server";
import { PERMISSION_LABELS } from "~/staff/permission-labels";
import { PERMISSIONS, ROLE_LABELS, can, type Permission } from "~/staff/permissions";
import { navFor } from "~/ui/nav";
import { Time } from "~/ui/time";
import { auditActionLabel } from "~/staff/audit-labels";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Home");

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:console");
  const { entries } = listAudit(context.db, { staffUserId: staff.id }, { limit: 10 });
  return {
    staff: { name: staff.name, role: staff.role },
    recent: entries.map((e) => ({ id: e.id, at: e.at.getTime(), action: e.action, customerHash: e.customerHash, targetId: e.targetId })),
    now: context.now().getTime(),
    production: environmentBadge(context.config) === "PRODUCTION",
  };
}

export default function Home() {
  const { staff, recent, now, production } = useLoaderData<typeof loader>();
  const permissions = (Object.keys(PERMISSIONS) as Permission[]).filter((p) => can(staff.role, p) && p !== "view:console");
  const sections = navFor(staff.role, production).filter((item) => item.to !== "/");
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-2xl font-bold">Hello, {staff.name}</h1>
        <p className="text-slate-600">
          Signed in as <strong>{ROLE_LABELS[staff.role]}</strong>.
        </p>
      </div>
      <div className="grid gap-4 md:grid-cols-2">
        <section className="card" aria-labelledby="sections-heading">
          <h2 id="sections-heading" className="font-semibold">
            Your sections
          </h2>
          {sections.length ? (
            <ul className="mt-2 space-y-1">
              {sections.map((item) => (
                <li key={item.to}>
                  <Link className="link" to={item.to}>
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          ) : (
            <p className="mt-2 text-sm text-slate-600">No sections are open to your role yet.</p>
          )}
          <h3 className="mt-4 text-sm font-semibold text-slate-700">Your role allows you to</h3>
          <ul className="mt-1 list-disc pl-5 text-sm text-slate-700">
            {permissions.map((p) => (
              <li key={p}>{PERMISSION_LABELS[p]}</li>
            ))}
          </ul>
        </section>
        <section className="card" aria-labelledby="activity-heading">
          <h2 id="activity-heading" className="font-semibold">
            Your recent activity
          </h2>
          {recent.length ? (
            <ul className="mt-2 divide-y divide-slate-100 text-sm">
              {recent.map((entry) => (
                <li key={entry.id} className="flex justify-between gap-2 py-1.5">
                  <span>
                    {auditActionLabel(entry.action)}
                    {entry.customerHash ? (
                      <>
                        {" "}
                        <Link className="link font-mono text-xs" to={`/customers/${entry.customerHash}`} aria-label={`customer ${entry.customerHash}`}>
                          {entry.customerHash.slice(0, 8)}…
                        </Link>
                      </>
                    ) : null}
                  </span>
                  <Time value={entry.at} now={now} />
                </li>
              ))}
            </ul>
          ) : (
            <p className="mt-2 text-sm text-slate-600">Nothing yet.</p>
          )}
        </section>
      </div>
    </div>
  );
}
