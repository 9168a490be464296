import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { bulkRunLines, cancelBulkRun, getBulkRun } from "~/reports/bulk-runs.server";
import { reportState, ReportRuleError } from "~/reports/check-reports.server";
import { BULK_OUTCOMES, REPORT_STATES, type BulkOutcome, type ReportState } from "~/reports/report-states";
import { readForm, requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { Badge, type Tone } from "~/ui/badge";
import { FormError } from "~/ui/field";
import { Pager } from "~/ui/pager";
import { ReportStateBadge } from "~/ui/report-state";
import { useRevalidateWhile } from "~/ui/revalidate";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { JobProgressBar } from "~/ui/job-progress";
import { Notice } from "~/ui/notice";

export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args, args.data ? `Bulk run #${args.data.run.id}` : "Bulk run", "Plaid Check");

const PAGE_SIZE = 100;
const OUTCOME_LABEL: Record<BulkOutcome, string> = { waiting: "waiting", queued: "queued as a report", cooldown: "skipped: cooldown", no_user: "no Plaid Check user", invalid: "invalid hash", duplicate: "duplicate line", cancelled: "cancelled" };
const OUTCOME_TONE: Record<BulkOutcome, Tone> = { waiting: "slate", queued: "blue", cooldown: "amber", no_user: "amber", invalid: "red", duplicate: "slate", cancelled: "slate" };

function runId(params: { runId?: string }): number {
  const id = Number(params.runId);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Response("A bulk run is addressed by its number.", { status: 404 });
  return id;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const found = getBulkRun(context.db, runId(params));
  if (!found) throw new Response("No bulk run with that number.", { status: 404 });
  const url = new URL(request.url);
  const outcomeParam = url.searchParams.get("outcome");
  const outcome = (BULK_OUTCOMES as readonly string[]).includes(outcomeParam ?? "") ? (outcomeParam as BulkOutcome) : null;
  const page = Math.max(1, Math.min(1000, Number(url.searchParams.get("page")) || 1));
  const now = context.now().getTime();
  const lines = bulkRunLines(context.db, found.run.id).map((l) => ({ ...l, state: l.status ? reportState({ status: l.status, sentAt: l.sentAt, completedAt: l.completedAt, probeCode: l.probeCode }, now, context.config.cra.webhookTimeoutMs) : null }));
  const byOutcome = Object.fromEntries(BULK_OUTCOMES.map((o) => [o, 0])) as Record<BulkOutcome, number>;
  const byState = Object.fromEntries(REPORT_STATES.map((s) => [s, 0])) as Record<ReportState, number>;
  for (const l of lines) {
    byOutcome[l.outcome]++;
    if (l.state) byState[l.state]++;
  }
  const shown = outcome ? lines.filter((l) => l.outcome === outcome) : lines;
  const run = found.run;
  return {
    run: { id: run.id, status: run.status, reason: run.reason, purpose: run.purpose, daysRequested: run.daysRequested, products: run.products, total: run.total, createdAt: run.createdAt.getTime(), finishedAt: run.finishedAt?.getTime() ?? null, createdByEmail: found.createdByEmail },
    byOutcome,
    byState,
    outcome,
    page,
    lines: shown.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map((l) => ({ id: l.id, position: l.position, input: l.input, customerHash: l.customerHash, outcome: l.outcome, message: l.message, reportId: l.reportId, state: l.state, errorCode: l.errorCode })),
    hasNext: shown.length > page * PAGE_SIZE,
    mayCancel: can(staff.role, "regenerate:report") && run.status === "running",
    now,
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "regenerate:report");
  const id = runId(params);
  const form = await readForm(request);
  if (form.get("intent") !== "cancel") return data({ ok: false as const, message: "Unknown action." }, { status: 400 });
  try {
    const cancelled = cancelBulkRun(context, id, { actor: staff, clientAddress: context.clientAddress });
    return { ok: true as const, message: `Run cancelled: ${plural(cancelled, "line")} that were not yet queued will not be. Reports already queued still go to Plaid.` };
  } catch (error) {
    if (error instanceof ReportRuleError) return data({ ok: false as const, message: error.message }, { status: 409 });
    throw error;
  }
}

export default function BulkRun() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const cancelling = useIsPending({ match: { intent: "cancel" } });
  const r = d.run;
  const inFlight = d.byState.queued + d.byState.pending;
  useRevalidateWhile(r.status === "running" || inFlight > 0, 2000);
  const processed = r.total - d.byOutcome.waiting;
  const settled = d.byState.ready + d.byState.expired + d.byState.failed;
  const link = (outcome: string | null, page = 1) => `?${new URLSearchParams([...(outcome ? [["outcome", outcome]] : []), ...(page > 1 ? [["page", String(page)]] : [])])}`;
  return (
    <div className="space-y-4">
      <p className="flex flex-wrap gap-4 text-sm">
        <Link to="/reports/bulk" className="link">
          ← Bulk runs
        </Link>
        <Link to={`/reports?run=${r.id}`} className="link">
          This run's report requests
        </Link>
      </p>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h1 className="flex items-center gap-3 text-2xl font-bold">
          Bulk run #{r.id} <Badge tone={r.status === "running" ? "blue" : r.status === "finished" ? "green" : "slate"}>{r.status}</Badge>
        </h1>
        {d.mayCancel ? (
          <Form method="post">
            <input type="hidden" name="intent" value="cancel" />
            <StatusButton className="btn-danger" pending={cancelling} pendingText="Cancelling…">
              Cancel the rest of the run
            </StatusButton>
          </Form>
        ) : null}
      </div>
      {result ? result.ok ? <Notice tone="success">{result.message}</Notice> : <FormError message={result.message} /> : null}
      <p className="text-sm text-slate-700">
        Started <Time value={r.createdAt} now={d.now} /> by {r.createdByEmail ?? "a removed staff account"}: “{r.reason}” · {r.purpose} · {r.daysRequested} days · {r.products.join(", ") || "base report only"}
        {r.finishedAt ? (
          <>
            {" "}
            · {r.status} <Time value={r.finishedAt} now={d.now} />
          </>
        ) : null}
      </p>
      <div className="card space-y-2" data-testid="bulk-progress" data-status={r.status}>
        <p className="text-sm">
          <strong>{processed}</strong> of {r.total} lines processed · <strong>{d.byOutcome.queued}</strong> queued as reports, of which {settled} settled ({d.byState.ready} ready, {d.byState.failed} failed
          {d.byState.expired ? `, ${d.byState.expired} expired` : ""}){inFlight ? `, ${inFlight} in flight` : ""}
          {d.byState.stuck ? <span className="text-red-800">, {d.byState.stuck} with no webhook yet</span> : null}
        </p>
        <JobProgressBar done={processed} total={r.total} label="Bulk run progress" />
      </div>
      <nav className="flex flex-wrap gap-2 text-sm" aria-label="Outcomes">
        <Link to={link(null)} className={`rounded px-2 py-1 ${!d.outcome ? "bg-indigo-600 text-white" : "bg-white hover:bg-slate-100"}`}>
          All lines <span className="text-xs">({r.total})</span>
        </Link>
        {BULK_OUTCOMES.filter((o) => d.byOutcome[o] > 0).map((o) => (
          <Link key={o} to={link(o)} className={`rounded px-2 py-1 ${d.outcome === o ? "bg-indigo-600 text-white" : "bg-white hover:bg-slate-100"}`}>
            {OUTCOME_LABEL[o]} <span className="text-xs">({d.byOutcome[o]})</span>
          </Link>
        ))}
      </nav>
      <div className="card p-0">
        <TableScroll label="Lines of the run">
        <table className="table-basic" aria-label="Lines of the run">
          <thead>
            <tr>
              <th>Line</th>
              <th>Customer</th>
              <th>Result</th>
              <th>Report</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.lines.map((l) => (
              <tr key={l.id} className={l.state === "stuck" ? "bg-red-50" : undefined}>
                <td>{l.position}</td>
                <td className="font-mono text-xs">
                  {l.customerHash && l.outcome !== "invalid" ? (
                    <Link className="link" to={`/customers/${l.customerHash}/check`}>
                      {l.customerHash.slice(0, 16)}…
                    </Link>
                  ) : (
                    <span className="break-all">{l.input}</span>
                  )}
                </td>
                <td className="text-sm">
                  <Badge tone={OUTCOME_TONE[l.outcome]}>{OUTCOME_LABEL[l.outcome]}</Badge>
                  {l.message ? <div className="text-xs text-slate-600">{l.message}</div> : null}
                </td>
                <td>
                  {l.reportId && l.state ? (
                    <span className="flex items-center gap-2">
                      <Link className="link" to={`/reports/${l.reportId}`}>
                        #{l.reportId}
                      </Link>
                      <ReportStateBadge state={l.state} />
                      {l.state === "failed" && l.errorCode ? <span className="font-mono text-xs">{l.errorCode}</span> : null}
                    </span>
                  ) : (
                    <span className="text-xs text-slate-600">—</span>
                  )}
                </td>
              </tr>
            ))}
            <EmptyRow show={d.lines.length === 0} colSpan={4}>
              No line {d.outcome ? `is “${OUTCOME_LABEL[d.outcome]}”` : "in this run"}.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
      <Pager previous={d.page > 1 ? link(d.outcome, d.page - 1) : null} next={d.hasNext ? link(d.outcome, d.page + 1) : null} previousLabel="← Previous" nextLabel="Next →" />
    </div>
  );
}
