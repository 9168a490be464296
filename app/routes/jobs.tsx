import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { pageMeta } from "~/ui/meta";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { JOB_KIND_LABELS, listJobs, parseJobFilter, recurringJobs } from "~/jobs/job-list.server";
import { requirePermission } from "~/staff/guards.server";
import { Badge, type Tone } from "~/ui/badge";
import { EmptyRow } from "~/ui/empty-row";
import { SelectField } from "~/ui/field";
import { JobProgressBar } from "~/ui/job-progress";
import { jobInProgress, useRevalidateWhileInProgress } from "~/ui/job-state";
import { TableScroll } from "~/ui/table-scroll";
import { Time } from "~/ui/time";

export const meta: MetaFunction = (args) => pageMeta(args, "Background jobs");

const STATUSES = ["queued", "running", "finished", "failed", "interrupted", "cancelled"] as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "view:jobs");
  const params = new URL(request.url).searchParams;
  const filter = parseJobFilter(params);
  const { rows, nextBefore } = listJobs(context.db, filter);
  const ms = (d: Date | null) => d?.getTime() ?? null;
  const keep = new URLSearchParams(Object.entries({ kind: filter.kind ?? "", status: filter.status ?? "" }).filter(([, v]) => v));
  return {
    now: context.now().getTime(),
    filter: { kind: filter.kind ?? "", status: filter.status ?? "" },
    kinds: JOB_KIND_LABELS,
    recurring: recurringJobs(context.db).map((j) => ({ kind: j.kind, status: j.status, result: j.result, error: j.error, runs: j.attempts, finishedAt: ms(j.finishedAt), startedAt: ms(j.startedAt) })),
    jobs: rows.map((j) => ({ id: j.id, kind: j.kind, status: j.status, done: j.progressDone, total: j.progressTotal, result: j.result, error: j.error, attempts: j.attempts, createdByEmail: j.createdByEmail, createdAt: j.createdAt.getTime(), finishedAt: ms(j.finishedAt), page: j.page })),
    next: nextBefore ? `?${new URLSearchParams([...keep, ["before", String(nextBefore)]])}` : null,
  };
}

const TONE: Record<string, Tone> = { queued: "slate", running: "blue", finished: "green", failed: "red", interrupted: "amber", cancelled: "slate" };

const words = (key: string) => key.replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();

/** A job's result as a short line: "queued 3 · invalid 1". */
function ResultLine({ result }: { result: unknown }) {
  if (!result || typeof result !== "object") return <span className="text-slate-500">—</span>;
  const parts = Object.entries(result as Record<string, unknown>).map(([k, v]) => `${words(k)} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
  return <span>{parts.length ? parts.join(" · ") : "done"}</span>;
}

export default function Jobs() {
  const d = useLoaderData<typeof loader>();
  useRevalidateWhileInProgress(d.jobs.map((j) => j.status));
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Background jobs</h1>
      <p className="max-w-3xl text-sm text-slate-600">
        Every piece of background work runs on one runner: what staff start (re-checks, webhook re-runs, bulk regenerations) and what runs on a schedule. A job cut off by a restart carries on from its
        progress when its kind can, otherwise it is marked interrupted; a job that fails shows its error here.
      </p>
      <section className="card p-0">
        <TableScroll label="Scheduled work">
        <table className="table-basic" aria-label="Scheduled work">
          <thead>
            <tr>
              <th>Scheduled</th>
              <th>Last run</th>
              <th>Outcome</th>
              <th>Result</th>
              <th>Runs since install</th>
            </tr>
          </thead>
          <tbody>
            <EmptyRow show={d.recurring.length === 0} colSpan={5}>
              Nothing has run on a schedule yet.
            </EmptyRow>
            {d.recurring.map((r) => (
              <tr key={r.kind} data-kind={r.kind}>
                <td>{d.kinds[r.kind] ?? r.kind}</td>
                <td>{r.finishedAt ? <Time value={r.finishedAt} now={d.now} /> : "—"}</td>
                <td>
                  <Badge tone={TONE[r.status] ?? "slate"}>{r.status}</Badge>
                </td>
                <td className="text-sm">{r.error ? <span className="text-red-700">{r.error}</span> : <ResultLine result={r.result} />}</td>
                <td className="tabular-nums">{r.runs}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableScroll>
      </section>
      <Form method="get" className="card flex flex-wrap items-end gap-3" aria-label="Filter jobs">
        <SelectField label="Kind" name="kind" defaultValue={d.filter.kind}>
          <option value="">Any</option>
          {["cardlytics_recheck", "webhook_rehandle", "cra_bulk_run"].map((k) => (
            <option key={k} value={k}>
              {d.kinds[k]}
            </option>
          ))}
        </SelectField>
        <SelectField label="State" name="status" defaultValue={d.filter.status}>
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
        <button type="submit" className="btn">
          Show
        </button>
      </Form>
      <section className="card p-0">
        <TableScroll label="Jobs">
        <table className="table-basic" aria-label="Jobs">
          <thead>
            <tr>
              <th>Job</th>
              <th>Kind</th>
              <th>State</th>
              <th>Progress</th>
              <th>Result</th>
              <th>Started by</th>
              <th>Started</th>
              <th>Ended</th>
            </tr>
          </thead>
          <tbody>
            <EmptyRow show={d.jobs.length === 0} colSpan={8}>
              No job matches.
            </EmptyRow>
            {d.jobs.map((j) => (
              <tr key={j.id} data-job={j.id}>
                <td>{j.page ? <Link to={j.page}>#{j.id}</Link> : `#${j.id}`}</td>
                <td>{d.kinds[j.kind] ?? j.kind}</td>
                <td>
                  <Badge tone={TONE[j.status] ?? "slate"}>{j.status}</Badge>
                  {j.attempts > 1 ? <span className="ml-1 text-xs text-slate-500">({j.attempts} starts)</span> : null}
                </td>
                <td className="tabular-nums">
                  {j.done}
                  {j.total !== null ? ` of ${j.total}` : ""}
                  {jobInProgress(j.status) ? <JobProgressBar done={j.done} total={j.total} label={`Job #${j.id} progress`} /> : null}
                </td>
                <td className="text-sm">
                  <ResultLine result={j.result} />
                  {j.error ? <div className="text-red-700">{j.error}</div> : null}
                </td>
                <td>{j.createdByEmail ?? "—"}</td>
                <td>
                  <Time value={j.createdAt} now={d.now} />
                </td>
                <td>{j.finishedAt ? <Time value={j.finishedAt} now={d.now} /> : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableScroll>
      </section>
      {d.next ? (
        <Link className="btn" to={d.next}>
          Older jobs
        </Link>
      ) : null}
    </div>
  );
}
