import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useNavigation, useRouteLoaderData, useSearchParams } from "@remix-run/react";
import { expiringAccounts } from "~/cardlytics/account-links.server";
import { parseExpiringQuery } from "~/cardlytics/expiring-query";
import { getRecheckJob, MAX_BATCH, startRecheckJob } from "~/cardlytics/recheck-jobs.server";
import type { loader as rootLoader } from "~/root";
import { requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { Badge } from "~/ui/badge";
import { Pager } from "~/ui/pager";
import { Time } from "~/ui/time";
import { jobInProgress, jobStateLabel, useRevalidateWhileInProgress } from "~/ui/job-state";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Expiring links");

const PAGE_SIZE = 100;
const DAY = 86_400_000;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "view:customer");
  const url = new URL(request.url);
  const q = parseExpiringQuery(url.searchParams, context.config.expiringWithinDays);
  const now = context.now();
  const rows = expiringAccounts(context.db, { until: new Date(now.getTime() + q.within * DAY), sort: q.sort, limit: PAGE_SIZE + 1, offset: (q.page - 1) * PAGE_SIZE });
  const jobId = Number(url.searchParams.get("job"));
  const job = Number.isSafeInteger(jobId) && jobId > 0 ? getRecheckJob(context.db, jobId) : undefined;
  return {
    ...q,
    now: now.getTime(),
    rows: rows.slice(0, PAGE_SIZE).map((r) => ({ ...r, checkedAt: r.checkedAt.getTime(), expired: (r.expirationDate ?? 0) <= now.getTime() })),
    hasNext: rows.length > PAGE_SIZE,
    job: job ? { id: job.id, total: job.customerHashes.length, done: job.done, failed: job.failed, status: job.status, error: job.error } : null,
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "recheck:account-links");
  const url = new URL(request.url);
  const q = parseExpiringQuery(url.searchParams, context.config.expiringWithinDays);
  const until = new Date(context.now().getTime() + q.within * DAY);
  const hashes = [...new Set(expiringAccounts(context.db, { until, sort: "expiration", limit: MAX_BATCH * 4 }).map((r) => r.customerHash))].slice(0, MAX_BATCH);
  if (!hashes.length) return data({ message: "No customer in this list to re-check." }, { status: 400 });
  const { jobId } = startRecheckJob(context, { customerHashes: hashes, actor: staff, clientAddress: context.clientAddress });
  return redirect(`/customers/expiring?within=${q.within}&sort=${q.sort}&job=${jobId}`);
}

function JobProgress({ job }: { job: NonNullable<ReturnType<typeof useLoaderData<typeof loader>>["job"]> }) {
  useRevalidateWhileInProgress(job.status);
  const percent = job.total ? Math.round((job.done / job.total) * 100) : 100;
  return (
    <div role="status" className="card space-y-2" data-testid="recheck-progress" data-status={job.status}>
      <p className="text-sm">
        Re-check #{job.id}: <strong>{job.done}</strong> of {job.total} customers checked
        {job.failed ? `, ${job.failed} could not be checked` : ""} · {jobStateLabel(job.status)}
      </p>
      <div className="h-2 w-full overflow-hidden rounded bg-slate-200" aria-hidden>
        <div className="h-2 bg-indigo-600 transition-all" style={{ width: `${percent}%` }} />
      </div>
      {!jobInProgress(job.status) ? (
        <p className="text-sm" data-testid="recheck-result">
          {job.done - job.failed} checked, {job.failed} could not be checked{job.total > job.done ? `, ${job.total - job.done} not reached` : ""}.
          {job.error ? <span className="text-red-700"> {job.error}</span> : null}
        </p>
      ) : null}
    </div>
  );
}

export default function ExpiringLinks() {
  const d = useLoaderData<typeof loader>();
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const [params] = useSearchParams();
  const submitting = useNavigation().state === "submitting";
  const canRecheck = root?.staff ? can(root.staff.role, "recheck:account-links") : false;
  const withPage = (page: number) => `?${new URLSearchParams({ within: String(d.within), sort: d.sort, page: String(page) })}`;
  const sortLink = (sort: string) => `?${new URLSearchParams({ within: String(d.within), sort })}`;
  const csv = `/customers/expiring.csv?${new URLSearchParams({ within: String(d.within), sort: d.sort })}`;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">Expiring Cardlytics links</h1>
        <div className="flex gap-2">
          <a className="btn" href={csv} download>
            Export CSV
          </a>
          {canRecheck ? (
            <Form method="post" action={`/customers/expiring?${new URLSearchParams({ within: String(d.within), sort: d.sort })}`}>
              <button className="btn-primary" type="submit" disabled={submitting || d.rows.length === 0}>
                {submitting ? "Starting…" : "Re-check this list"}
              </button>
            </Form>
          ) : null}
        </div>
      </div>
      <Form method="get" className="card flex flex-wrap items-end gap-3">
        <div>
          <label className="label" htmlFor="within">
            Expiring within (days)
          </label>
          <input id="within" name="within" type="number" min={1} max={365} defaultValue={d.within} className="input w-32" />
        </div>
        <input type="hidden" name="sort" value={d.sort} />
        <button type="submit" className="btn">
          Show
        </button>
        {d.error ? (
          <p role="alert" className="text-sm text-red-700">
            {d.error}
          </p>
        ) : null}
        <p className="text-sm text-slate-600">From each customer's latest successful check. Already expired accounts are listed first.</p>
      </Form>
      {d.job && params.get("job") ? <JobProgress job={d.job} /> : null}
      <div className="card p-0">
        <TableScroll label="Expiring links">
        <table className="table-basic" aria-label="Expiring links">
          <thead>
            <tr>
              <th>
                <Link to={sortLink("customer")} className="hover:underline">
                  Customer {d.sort === "customer" ? "↓" : ""}
                </Link>
              </th>
              <th>
                <Link to={sortLink("institution")} className="hover:underline">
                  Institution {d.sort === "institution" ? "↓" : ""}
                </Link>
              </th>
              <th>Account</th>
              <th>
                <Link to={sortLink("expiration")} className="hover:underline">
                  Expires {d.sort === "expiration" ? "↓" : ""}
                </Link>
              </th>
              <th>Checked</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.rows.map((r) => (
              <tr key={`${r.customerHash}-${r.accountId}`}>
                <td className="font-mono text-xs">
                  <Link className="link" to={`/customers/${r.customerHash}`}>
                    {r.customerHash.slice(0, 16)}…
                  </Link>
                </td>
                <td>{r.fiName}</td>
                <td className="font-mono text-xs">
                  ••{r.last4} {r.cardType}
                </td>
                <td>
                  {r.expired ? <Badge tone="red">Expired</Badge> : <Badge tone="amber">Expiring</Badge>} <Time value={r.expirationDate} now={d.now} />
                </td>
                <td>
                  <Time value={r.checkedAt} now={d.now} />
                </td>
              </tr>
            ))}
            <EmptyRow show={d.rows.length === 0} colSpan={5}>
              No checked account expires within {d.within} days.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
      <Pager previous={d.page > 1 ? withPage(d.page - 1) : null} next={d.hasNext ? withPage(d.page + 1) : null} previousLabel="← Previous" nextLabel="Next →" />
    </div>
  );
}
