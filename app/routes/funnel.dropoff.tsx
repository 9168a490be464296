import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import type { loader as rootLoader } from "~/root";
import { can } from "~/staff/permissions";
import { CopyButton } from "~/ui/copy-button";
import { funnelSearch, parseFunnelParams } from "~/funnel/params";
import { droppedAt } from "~/funnel/report.server";
import { FUNNEL_STEPS } from "~/funnel/steps";
import { requirePermission } from "~/staff/guards.server";
import { Pager } from "~/ui/pager";
import { Time } from "~/ui/time";
import { TableScroll } from "~/ui/table-scroll";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Funnel drop-off");

const PAGE_SIZE = 100;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "view:funnel");
  const params = new URL(request.url).searchParams;
  const now = context.now();
  const { query, settings } = parseFunnelParams(params, now);
  const step = Number(params.get("step"));
  if (!Number.isInteger(step) || step < 1 || step >= FUNNEL_STEPS.length) {
    throw new Response(`Choose a step from 1 to ${FUNNEL_STEPS.length - 1}: the step the customers did not reach.`, { status: 400 });
  }
  const page = Math.max(0, Math.min(10_000, Number.parseInt(params.get("page") ?? "0", 10) || 0));
  const { total, customers } = droppedAt(context.db, query, step, PAGE_SIZE, page * PAGE_SIZE);
  const at = (p: number) => `?${funnelSearch(settings, { step: String(step), page: String(p) })}`;
  return {
    settings,
    back: `/funnel?${funnelSearch(settings)}`,
    missed: FUNNEL_STEPS[step]!.label,
    reached: FUNNEL_STEPS[step - 1]!.label,
    total,
    customers,
    previous: page > 0 ? at(page - 1) : null,
    next: (page + 1) * PAGE_SIZE < total ? at(page + 1) : null,
    first: page * PAGE_SIZE + 1,
    now: now.getTime(),
  };
}

export default function DropOff() {
  const d = useLoaderData<typeof loader>();
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const mayOpen = root?.staff ? can(root.staff.role, "view:customer") : false;
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link className="link" to={d.back}>
          ← Funnel
        </Link>
      </p>
      <h1 className="text-2xl font-bold">
        Reached “{d.reached}” but not “{d.missed}”
      </h1>
      <p className="text-sm text-slate-600">
        {plural(d.total, "customer")} who started {d.settings.from} – {d.settings.to} (UTC), with a {d.settings.window}-day window.
        {d.total ? ` Showing ${d.first}–${d.first + d.customers.length - 1}.` : ""}
      </p>
      {mayOpen ? null : <p className="text-sm text-slate-600">Customer pages are open to support, operations and administrators: copy a hash to ask them about a customer.</p>}
      <div className="card p-0">
        <TableScroll label="Customers who dropped off">
        <table className="table-basic" aria-label="Customers who dropped off">
          <thead>
            <tr>
              <th>Customer</th>
              <th>Started linking</th>
              <th>Last step reached</th>
              <th>Institution</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.customers.map((c) => (
              <tr key={c.customerHash}>
                <td className="font-mono text-xs">
                  {mayOpen ? (
                    <Link className="link" to={`/customers/${c.customerHash}`}>
                      {c.customerHash.slice(0, 16)}…
                    </Link>
                  ) : (
                    <span className="flex items-center gap-2">
                      {c.customerHash.slice(0, 16)}… <CopyButton value={c.customerHash} label="Copy hash" />
                    </span>
                  )}
                </td>
                <td>
                  <Time value={c.startedAt} now={d.now} />
                </td>
                <td>
                  {c.lastStep} <Time value={c.lastStepAt} now={d.now} />
                </td>
                <td>{c.institution ?? <span className="text-slate-600">unknown</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableScroll>
      </div>
      <Pager previous={d.previous} next={d.next} previousLabel="← Previous" nextLabel="Next →" />
    </div>
  );
}
