import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useRouteLoaderData } from "@remix-run/react";
import type { loader as rootLoader } from "~/root";
import { reportState } from "~/reports/check-reports.server";
import { countByState, listReports, parseReportFilter, reportRequesters } from "~/reports/report-list.server";
import { AGE_LABELS, REPORT_STATES } from "~/reports/report-states";
import { requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { Pager } from "~/ui/pager";
import { ReportStateBadge, STATE_LABEL } from "~/ui/report-state";
import { useRevalidateWhile } from "~/ui/revalidate";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { Notice } from "~/ui/notice";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Plaid Check");

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "view:customer");
  const { filter, values, errors } = parseReportFilter(new URL(request.url).searchParams);
  const now = context.now().getTime();
  const clock = { now, webhookTimeoutMs: context.config.cra.webhookTimeoutMs };
  const { rows, nextBefore } = listReports(context.db, filter, clock);
  const keep = new URLSearchParams(Object.entries(values).filter(([k]) => k !== "before" && !errors[k]));
  return {
    rows: rows.map((r) => ({
      ...r,
      state: reportState(r, now, clock.webhookTimeoutMs),
      requestedAt: r.requestedAt.getTime(),
      sentAt: r.sentAt?.getTime() ?? null,
      completedAt: r.completedAt?.getTime() ?? null,
      retryAt: r.retryAt?.getTime() ?? null,
      probedAt: r.probedAt?.getTime() ?? null,
    })),
    counts: countByState(context.db, clock),
    requesters: reportRequesters(context.db),
    values,
    errors,
    firstPage: !filter.before,
    next: nextBefore ? `?${new URLSearchParams([...keep, ["before", String(nextBefore)]])}` : null,
    newest: `?${keep}`,
    csv: `/reports.csv?${keep}`,
    webhookTimeoutMinutes: context.config.cra.webhookTimeoutMs / 60_000,
    now,
  };
}

export default function Reports() {
  const d = useLoaderData<typeof loader>();
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const mayBulk = root?.staff ? can(root.staff.role, "regenerate:report") : false;
  const active = d.counts.queued + d.counts.pending > 0;
  useRevalidateWhile(active && d.firstPage, 5000);
  const tab = (status: string) => {
    const params = new URLSearchParams(d.newest.slice(1));
    params.delete("status");
    if (status) params.set("status", status);
    return `?${params}`;
  };
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">Plaid Check report requests</h1>
        <div className="flex gap-2">
          <a className="btn" href={d.csv} download>
            Export CSV
          </a>
          <Link className={mayBulk ? "btn-primary" : "btn"} to="/reports/bulk">
            {mayBulk ? "Bulk regeneration" : "Bulk runs"}
          </Link>
        </div>
      </div>
      {d.counts.stuck ? (
        <Notice tone="error" className="flex flex-wrap items-center justify-between gap-2">
          <span>
            {plural(d.counts.stuck, "request")} sent more than {d.webhookTimeoutMinutes} minutes ago have had no READY or FAILED webhook. Open one to probe Plaid for it.
          </span>
          {d.values.status !== "stuck" ? (
            <Link className="btn" to={tab("stuck")}>
              Show them
            </Link>
          ) : null}
        </Notice>
      ) : null}
      <nav className="flex flex-wrap gap-2 text-sm" aria-label="States">
        <Link to={tab("")} className={`rounded px-2 py-1 ${!d.values.status ? "bg-indigo-600 text-white" : "bg-white hover:bg-slate-100"}`}>
          All
        </Link>
        {REPORT_STATES.map((s) => (
          <Link key={s} to={tab(s)} className={`rounded px-2 py-1 ${d.values.status === s ? "bg-indigo-600 text-white" : s === "stuck" && d.counts.stuck ? "bg-red-100 text-red-900 hover:bg-red-200" : "bg-white hover:bg-slate-100"}`}>
            {STATE_LABEL[s]} <span className="text-xs">({d.counts[s]})</span>
          </Link>
        ))}
      </nav>
      <Form method="get" className="card grid grid-cols-2 gap-3 md:grid-cols-5" aria-label="Filter report requests">
        <div>
          <label className="label" htmlFor="f-status">
            State
          </label>
          <select id="f-status" name="status" className="input" defaultValue={d.values.status ?? ""}>
            <option value="">Any</option>
            {REPORT_STATES.map((s) => (
              <option key={s} value={s}>
                {STATE_LABEL[s]}
              </option>
            ))}
          </select>
          {d.errors.status ? <p role="alert" className="mt-1 text-xs text-red-700">{d.errors.status}</p> : null}
        </div>
        <div>
          <label className="label" htmlFor="f-age">
            Requested
          </label>
          <select id="f-age" name="age" className="input" defaultValue={d.values.age ?? ""}>
            <option value="">Any time</option>
            {Object.entries(AGE_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          {d.errors.age ? <p role="alert" className="mt-1 text-xs text-red-700">{d.errors.age}</p> : null}
        </div>
        <div>
          <label className="label" htmlFor="f-requester">
            Requester
          </label>
          <select id="f-requester" name="requester" className="input" defaultValue={d.values.requester ?? ""}>
            <option value="">Anyone</option>
            <option value="plaid">Plaid (after a Link session)</option>
            {d.requesters.map((r) => (
              <option key={r.id} value={r.id}>
                {r.email}
              </option>
            ))}
          </select>
          {d.errors.requester ? <p role="alert" className="mt-1 text-xs text-red-700">{d.errors.requester}</p> : null}
        </div>
        <div className="col-span-2">
          <label className="label" htmlFor="f-customer">
            Customer hash
          </label>
          <input id="f-customer" name="customer" className="input font-mono" defaultValue={d.values.customer ?? ""} placeholder="64 hex characters" />
          {d.errors.customer ? <p role="alert" className="mt-1 text-xs text-red-700">{d.errors.customer}</p> : null}
        </div>
        {d.values.run ? <input type="hidden" name="run" value={d.values.run} /> : null}
        <div className="col-span-2 flex items-end gap-2 md:col-span-5">
          <button type="submit" className="btn-primary">
            Filter
          </button>
          <Link className="btn" to="/reports">
            Clear
          </Link>
          {d.values.run && !d.errors.run ? <span className="text-sm text-slate-600">Only requests of bulk run #{d.values.run}.</span> : null}
          {d.errors.run ? <p role="alert" className="text-xs text-red-700">{d.errors.run}</p> : null}
        </div>
      </Form>
      <div className="card p-0">
        <TableScroll label="Report requests">
        <table className="table-basic" aria-label="Report requests">
          <thead>
            <tr>
              <th>#</th>
              <th>State</th>
              <th>Customer</th>
              <th>Requested</th>
              <th>Purpose · days · products</th>
              <th>Sent</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.rows.map((r) => (
              <tr key={r.id} className={r.state === "stuck" ? "bg-red-50" : undefined} data-state={r.state}>
                <td>
                  <Link className="link" to={`/reports/${r.id}`}>
                    #{r.id}
                  </Link>
                </td>
                <td>
                  <ReportStateBadge state={r.state} />
                </td>
                <td className="font-mono text-xs">
                  <Link className="link" to={`/customers/${r.customerHash}/check`}>
                    {r.customerHash.slice(0, 12)}…
                  </Link>
                </td>
                <td>
                  <Time value={r.requestedAt} now={d.now} />
                  <div className="text-xs text-slate-500">
                    {r.origin === "plaid" ? "Plaid, after a Link session" : r.requesterEmail ?? "a removed staff account"}
                    {r.bulkRunId ? (
                      <>
                        {" · "}
                        <Link className="link" to={`/reports/bulk/${r.bulkRunId}`}>
                          bulk run #{r.bulkRunId}
                        </Link>
                      </>
                    ) : null}
                  </div>
                </td>
                <td className="text-xs">
                  {r.purpose ?? "—"} · {r.daysRequested ?? "—"} · {r.products.join(", ") || "base report"}
                </td>
                <td>
                  <Time value={r.sentAt} now={d.now} />
                  {r.retryAt ? <div className="text-xs text-amber-800">rate-limited; retries <Time value={r.retryAt} now={d.now} /></div> : null}
                </td>
                <td className="text-xs">
                  {r.state === "stuck" ? <div className="font-medium text-red-800">no webhook after {d.webhookTimeoutMinutes} min{r.probeCode ? ` · last probe ${r.probeCode}` : ""}</div> : null}
                  {r.completedAt ? (
                    <div>
                      settled <Time value={r.completedAt} now={d.now} />
                      {r.settledBy === "probe" ? " (by a probe)" : ""}
                    </div>
                  ) : null}
                  {r.failedProducts?.length ? <div>failed products: {r.failedProducts.join(", ")}</div> : null}
                  {r.errorCode && r.state === "failed" ? <div className="font-mono">{r.errorCode}</div> : null}
                </td>
              </tr>
            ))}
            <EmptyRow show={d.rows.length === 0} colSpan={7}>
              No report request matches these filters.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
      <Pager previous={d.firstPage ? null : d.newest} next={d.next} />
    </div>
  );
}
