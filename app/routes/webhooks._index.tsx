import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useRevalidator, useRouteLoaderData } from "@remix-run/react";
import { useEffect } from "react";
import type { loader as rootLoader } from "~/root";
import { requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { Badge } from "~/ui/badge";
import { Pager } from "~/ui/pager";
import { Time } from "~/ui/time";
import { failedEventIds, listDeliveries, parseWebhookFilter, TEXT_SEARCH_WINDOW } from "~/webhooks/history.server";
import { getRehandleJob, startRehandleJob } from "~/webhooks/rehandle-jobs.server";
import { rejectionAlert } from "~/webhooks/maintenance.server";
import { stuckReports } from "~/reports/check-reports.server";
import { EmptyRow } from "~/ui/empty-row";
import { Field, IsoDateField } from "~/ui/field";
import { TableScroll } from "~/ui/table-scroll";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { JobProgress } from "~/ui/job-progress";
import { StatusButton, useIsPending } from "~/ui/status-button";

export const meta: MetaFunction = (args) => pageMeta(args, "Webhooks");

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "view:customer");
  const { filter, values, errors } = parseWebhookFilter(new URL(request.url).searchParams);
  const { rows, nextBefore, searchedBackTo } = listDeliveries(context.db, filter);
  const keep = new URLSearchParams(Object.entries(values).filter(([k]) => k !== "before" && !errors[k]));
  const jobId = Number(new URL(request.url).searchParams.get("job"));
  const job = Number.isSafeInteger(jobId) && jobId > 0 ? getRehandleJob(context.db, jobId) : undefined;
  return {
    rows: rows.map((r) => ({ ...r, receivedAt: r.receivedAt.getTime() })),
    values,
    errors,
    firstPage: Boolean(filter.before),
    next: nextBefore ? `?${new URLSearchParams([...keep, ["before", String(nextBefore)]])}` : null,
    searchedBackTo: searchedBackTo ? searchedBackTo.receivedAt.getTime() : null,
    textSearchWindow: TEXT_SEARCH_WINDOW,
    newest: `?${keep}`,
    csv: `/webhooks.csv?${keep}`,
    alert: rejectionAlert(context.db, context.now()),
    stuck: stuckReports(context.db, context.now(), context.config.cra.webhookTimeoutMs).map((r) => ({ id: r.id, customerHash: r.customerHash, sentAt: r.sentAt?.getTime() ?? null })),
    webhookTimeoutMinutes: context.config.cra.webhookTimeoutMs / 60_000,
    retentionDays: context.config.webhookRetentionDays,
    now: context.now().getTime(),
    job: job
      ? { id: job.id, total: job.eventIds.length, done: job.done, stillFailing: job.stillFailing, status: job.status, error: job.error, createdAt: job.createdAt.getTime(), startedAt: job.startedAt?.getTime() ?? null, finishedAt: job.finishedAt?.getTime() ?? null }
      : null,
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "rehandle:webhook");
  const { filter, values, errors } = parseWebhookFilter(new URL(request.url).searchParams);
  if (Object.keys(errors).length) return data({ message: "Fix the filter first." }, { status: 400 });
  const kept = Object.fromEntries(Object.entries(values).filter(([k]) => k !== "before"));
  const ids = failedEventIds(context.db, filter);
  if (!ids.length) return { message: "No failed event matches this filter." };
  const { jobId } = startRehandleJob(context, { eventIds: ids, filter: kept, actor: staff, clientAddress: context.clientAddress });
  return redirect(`/webhooks?${new URLSearchParams({ ...kept, job: String(jobId) })}`);
}

const FIELDS: [string, string, string][] = [
  ["type", "Type", "ITEM"],
  ["code", "Code", "ERROR"],
  ["item", "item_id", ""],
  ["user", "user_id", ""],
  ["customer", "Customer hash", "64 hex"],
  ["q", "Text in payload", ""],
];

export default function Webhooks() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const root = useRouteLoaderData<typeof rootLoader>("root");
  const startingRehandle = useIsPending({ formAction: "/webhooks" });
  const filtering = useIsPending({ formAction: "/webhooks", formMethod: "GET" });
  const revalidator = useRevalidator();
  // New deliveries appear on the first page without a reload; a text search that reads a window of bodies is not
  // repeated every few seconds.
  const live = !d.firstPage && d.searchedBackTo === null;
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => {
      if (revalidator.state === "idle" && document.visibilityState === "visible") revalidator.revalidate();
    }, 5000);
    return () => clearInterval(timer);
  }, [live, revalidator]);
  const mayRehandle = root?.staff ? can(root.staff.role, "rehandle:webhook") : false;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="text-2xl font-bold">Plaid webhooks</h1>
        <div className="flex gap-2">
          <a className="btn" href={d.csv} download>
            Export CSV
          </a>
          {mayRehandle ? (
            <Form method="post" action={`/webhooks${d.newest}${d.newest === "?" ? "index" : "&index"}`}>
              <StatusButton className="btn" pending={startingRehandle} pendingText="Starting the re-run…">
                Re-run failed handlers in this filter
              </StatusButton>
            </Form>
          ) : null}
        </div>
      </div>
      {d.alert ? (
        <Notice tone="error">
          {d.alert.rejected} of the {d.alert.total} deliveries in the last hour were refused ({Math.round(d.alert.share * 100)}%). Check the reasons below: a wrong Plaid environment, a clock off by minutes, or a proxy that rewrites bodies all look like this.
        </Notice>
      ) : null}
      {d.stuck.length ? (
        <Notice tone="warning">
          Expected webhook never arrived: {plural(d.stuck.length, "consumer report request")} sent more than {d.webhookTimeoutMinutes} minutes ago have had no READY or FAILED webhook.
          <ul className="mt-1 list-disc pl-5 text-xs">
            {d.stuck.slice(0, 5).map((r) => (
              <li key={r.id}>
                <Link className="link" to={`/customers/${r.customerHash}/check`}>
                  report #{r.id}
                </Link>{" "}
                sent <Time value={r.sentAt} now={d.now} />
              </li>
            ))}
          </ul>
        </Notice>
      ) : null}
      <p className="text-xs text-slate-500">Deliveries are kept {d.retentionDays} days.</p>
      {result ? <Notice tone="neutral">{result.message}</Notice> : null}
      {d.job ? (
        <JobProgress
          job={d.job}
          name="Re-run"
          now={d.now}
          testId="rehandle-progress"
          summaryTestId="rehandle-summary"
          counts={
            <>
              <strong>{d.job.done}</strong> of {plural(d.job.total, "failed event")} re-run
            </>
          }
          summary={`${d.job.done - d.job.stillFailing} ran cleanly, ${d.job.stillFailing} still failing${d.job.total > d.job.done ? `, ${d.job.total - d.job.done} not reached` : ""}.`}
        />
      ) : null}
      <Form method="get" className="card grid grid-cols-2 gap-3 md:grid-cols-5" aria-label="Filter webhooks">
        {FIELDS.map(([name, label, placeholder]) => (
          <Field key={name} label={label} name={name} defaultValue={d.values[name] ?? ""} placeholder={placeholder} error={d.errors[name]} />
        ))}
        <div>
          <label className="label" htmlFor="f-verdict">
            Verdict
          </label>
          <select id="f-verdict" name="verdict" className="input" defaultValue={d.values.verdict ?? ""}>
            <option value="">Any</option>
            <option value="verified">verified</option>
            <option value="rejected">rejected</option>
          </select>
        </div>
        <div>
          <label className="label" htmlFor="f-status">
            Handling
          </label>
          <select id="f-status" name="status" className="input" defaultValue={d.values.status ?? ""}>
            <option value="">Any</option>
            <option value="handled">handled</option>
            <option value="ignored">ignored</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <IsoDateField label="From (UTC)" name="from" defaultValue={d.values.from ?? ""} error={d.errors.from} />
        <IsoDateField label="To (UTC)" name="to" defaultValue={d.values.to ?? ""} error={d.errors.to} />
        <div className="col-span-2 flex items-end gap-2 md:col-span-5">
          <StatusButton pending={filtering} pendingText="Filtering…">
            Filter
          </StatusButton>
          <Link className="btn" to="/webhooks">
            Clear
          </Link>
        </div>
      </Form>
      {d.searchedBackTo !== null ? (
        <Notice tone="neutral" testId="search-window">
          Text search reads at most {d.textSearchWindow.toLocaleString("en")} deliveries a page: this page searched those received since <Time value={d.searchedBackTo} now={d.now} />. Older deliveries are searched on the next page.
        </Notice>
      ) : null}
      <div className="card p-0">
        <TableScroll label="Webhook deliveries">
        <table className="table-basic" aria-label="Webhook deliveries">
          <thead>
            <tr>
              <th>Received</th>
              <th>Type / code</th>
              <th>Verdict</th>
              <th>Handling</th>
              <th>item_id / user_id</th>
              <th>Customer</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.rows.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link className="link" to={`/webhooks/${r.id}`}>
                    <Time value={r.receivedAt} now={d.now} />
                  </Link>
                </td>
                <td className="font-mono text-xs">
                  {r.webhookType ?? "?"}/{r.webhookCode ?? "?"}
                </td>
                <td>
                  {r.verdict === "verified" ? <Badge tone="green">verified</Badge> : <Badge tone="red">rejected {r.answeredStatus}</Badge>}
                  {r.deliveryCount && r.deliveryCount > 1 ? <span className="ml-1 text-xs text-slate-500">×{r.deliveryCount}</span> : null}
                </td>
                <td>{r.handlingStatus ? <Badge tone={r.handlingStatus === "failed" ? "red" : r.handlingStatus === "handled" ? "blue" : "slate"}>{r.handlingStatus}</Badge> : <span className="text-xs text-slate-500">{r.reason}</span>}</td>
                <td className="max-w-[12rem] truncate font-mono text-xs">{r.itemId ?? r.userId}</td>
                <td className="font-mono text-xs">
                  {r.customerHash ? (
                    <Link className="link" to={`/customers/${r.customerHash}`}>
                      {r.customerHash.slice(0, 12)}…
                    </Link>
                  ) : null}
                </td>
              </tr>
            ))}
            <EmptyRow show={d.rows.length === 0} colSpan={6}>
              {d.searchedBackTo !== null ? "No match among the deliveries this page searched; older ones are on the next page." : "No webhook matches these filters."}
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
      <Pager previous={d.firstPage ? d.newest : null} next={d.next} nextLabel={d.searchedBackTo !== null ? "Search older →" : undefined} />
    </div>
  );
}
