import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData, useRouteLoaderData, useSearchParams } from "@remix-run/react";
import { expiringAccounts } from "~/cardlytics/account-links.server";
import { parseExpiringQuery } from "~/cardlytics/expiring-query";
import { getRecheckJob, MAX_BATCH, startRecheckJob } from "~/cardlytics/recheck-jobs.server";
import type { loader as rootLoader } from "~/root";
import { requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { Badge } from "~/ui/badge";
import { Pager } from "~/ui/pager";
import { Time } from "~/ui/time";
import { JobProgress } from "~/ui/job-progress";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { plural } from "~/lib/plural";
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
    job: job ? { id: job.id, total: job.customerHashes.length, done: job.done, failed: job.failed, status: job.status, error: job.error, createdAt: job.createdAt.getTime(), startedAt: job.startedAt?.getTime() ?? null, finishedAt: job.finishedAt?.getTime() ?? null } : null,
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

export default function ExpiringLinks() {
  const d = useLoaderData<typeof loader>();
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const [params] = useSearchParams();
  const showing = useIsPending({ formAction: "/customers/expiring", formMethod: "GET" });
  const starting = useIsPending({ formAction: "/customers/expiring" });
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
              <StatusButton pending={starting} pendingText="Starting…" disabled={d.rows.length === 0}>
                Re-check this list
              </StatusButton>
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
        <StatusButton className="btn" pending={showing} pendingText="Showing…">
          Show
        </StatusButton>
        {d.error ? (
          <p role="alert" className="text-sm text-red-700">
            {d.error}
          </p>
        ) : null}
        <p className="text-sm text-slate-600">From each customer's latest successful check. Already expired accounts are listed first.</p>
      </Form>
      {d.job && params.get("job") ? (
        <JobProgress
          job={d.job}
          name="Re-check"
          now={d.now}
          testId="recheck-progress"
          summaryTestId="recheck-result"
          counts={
            <>
              <strong>{d.job.done}</strong> of {plural(d.job.total, "customer")} checked{d.job.failed ? `, ${d.job.failed} could not be checked` : ""}
            </>
          }
          summary={`${d.job.done - d.job.failed} checked, ${d.job.failed} could not be checked${d.job.total > d.job.done ? `, ${d.job.total - d.job.done} not reached` : ""}.`}
        />
      ) : null}
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
