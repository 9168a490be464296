import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { bulkRunCounts, createBulkRun, listBulkRuns } from "~/reports/bulk-runs.server";
import { MAX_BULK_ROWS } from "~/reports/report-states";
import { ReportRuleError } from "~/reports/check-reports.server";
import { bulkRegenerationForm, PERMISSIBLE_PURPOSES, REPORT_PRODUCTS } from "~/reports/identity-form";
import { parseForm } from "~/staff/forms";
import { readForm, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { can } from "~/staff/permissions";
import { Badge } from "~/ui/badge";
import { Field, FormError } from "~/ui/field";
import { Pager } from "~/ui/pager";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Bulk regeneration", "Plaid Check");

const MAX_UPLOAD_BYTES = 1024 * 1024;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const before = Number(new URL(request.url).searchParams.get("before"));
  const { rows, nextBefore } = listBulkRuns(context.db, Number.isSafeInteger(before) && before > 0 ? before : undefined);
  const counts = bulkRunCounts(context.db, rows.map((r) => r.run.id));
  return {
    runs: rows.map(({ run, createdByEmail }) => {
      const c = counts[run.id] ?? {};
      return { id: run.id, createdAt: run.createdAt.getTime(), createdByEmail, reason: run.reason, total: run.total, status: run.status, waiting: c.waiting ?? 0, queued: c.queued ?? 0, skipped: run.total - (c.waiting ?? 0) - (c.queued ?? 0) };
    }),
    next: nextBefore ? `?before=${nextBefore}` : null,
    firstPage: !(before > 0),
    mayStart: can(staff.role, "regenerate:report"),
    cooldownMinutes: context.config.cra.cooldownMs / 60_000,
    concurrency: context.config.cra.bulkConcurrency,
    maxPerMinute: context.config.cra.maxPerMinute,
    now: context.now().getTime(),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "regenerate:report");
  if (Number(request.headers.get("content-length") ?? 0) > MAX_UPLOAD_BYTES * 2) {
    return data({ message: "That upload is too large: keep the list under 1 MB.", fieldErrors: { file: "The file is larger than 1 MB" } as Record<string, string | undefined> }, { status: 413 });
  }
  const form = await readForm(request);
  const parsed = parseForm(bulkRegenerationForm, form, ["products"]);
  const fieldErrors: Record<string, string | undefined> = parsed.ok ? {} : { ...parsed.fieldErrors };
  const file = form.get("file");
  let uploaded = "";
  if (file instanceof File && file.size > 0) {
    if (file.size > MAX_UPLOAD_BYTES) fieldErrors.file = "The file is larger than 1 MB";
    else if (!/^(text\/|application\/(csv|vnd\.ms-excel|octet-stream))/.test(file.type || "text/plain")) fieldErrors.file = "Upload a text or CSV file";
    else uploaded = await file.text();
  }
  const pasted = String(form.get("list") ?? "");
  if (!pasted.trim() && !uploaded.trim() && !fieldErrors.file) fieldErrors.list = "Paste customer hashes, one per line, or upload a file of them";
  if (!parsed.ok || Object.values(fieldErrors).some(Boolean)) return data({ message: "Check the highlighted fields.", fieldErrors }, { status: 400 });
  // A bulk run regenerates (and bills) many reports: it needs a fresh proof of identity. What waits for it is the form
  // with an uploaded file's hashes folded into the pasted list, so that nothing rides on a file the browser cannot resend.
  const waiting = new FormData();
  for (const [name, value] of form) if (typeof value === "string" && name !== "list") waiting.append(name, value);
  waiting.set("list", [pasted, uploaded].filter((l) => l.trim()).join("\n"));
  requireFreshProof(request, context, staff, waiting, "Start a bulk regeneration");
  try {
    const { run } = createBulkRun(context, { list: [pasted, uploaded].filter((t) => t.trim()).join("\n"), reason: parsed.data.reason, purpose: parsed.data.purpose, daysRequested: parsed.data.daysRequested, products: parsed.data.products }, { actor: staff, clientAddress: context.clientAddress });
    return redirect(`/reports/bulk/${run.id}`);
  } catch (error) {
    if (error instanceof ReportRuleError) return data({ message: error.message, fieldErrors: { list: error.message } as Record<string, string | undefined> }, { status: 400 });
    throw error;
  }
}

export default function BulkRuns() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const starting = useIsPending();
  const errors = result?.fieldErrors ?? {};
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link to="/reports" className="link">
          ← All report requests
        </Link>
      </p>
      <h1 className="text-2xl font-bold">Bulk report regeneration</h1>
      {result?.message ? <FormError message={result.message} /> : null}
      {d.mayStart ? (
        <Form method="post" encType="multipart/form-data" className="card grid gap-3 md:grid-cols-3" noValidate aria-label="Start a bulk regeneration">
          <p className="text-sm text-slate-600 md:col-span-3">
            One customer hash per line (or the first column of a CSV), up to {MAX_BULK_ROWS.toLocaleString("en-US")} lines. Each line goes through the same rules as a single regeneration: customers without a Plaid Check user, or
            with a request in the last {d.cooldownMinutes} minutes, are skipped and say so. At most {d.concurrency} of the run's reports are in flight at once, and the queue sends at most {d.maxPerMinute} a minute. The run survives a restart
            and never sends a request twice.
          </p>
          <div className="md:col-span-2">
            <label className="label" htmlFor="list">
              Customer hashes
            </label>
            <textarea id="list" name="list" rows={6} className="input font-mono text-xs" placeholder={"3f0c…(64 hex characters)\n9a1b…"} aria-invalid={errors.list ? true : undefined} aria-describedby={errors.list ? "list-error" : undefined} />
            {errors.list ? (
              <p id="list-error" role="alert" className="mt-1 text-sm text-red-700">
                {errors.list}
              </p>
            ) : null}
          </div>
          <div>
            <label className="label" htmlFor="file">
              …or upload a file (.txt or .csv, 1 MB at most)
            </label>
            <input id="file" name="file" type="file" accept=".txt,.csv,text/plain,text/csv" className="text-sm" />
            {errors.file ? (
              <p role="alert" className="mt-1 text-sm text-red-700">
                {errors.file}
              </p>
            ) : null}
          </div>
          <div className="md:col-span-3">
            <Field name="reason" label="Reason (kept in the audit log with every request)" error={errors.reason} />
          </div>
          <div>
            <label className="label" htmlFor="purpose">
              Permissible purpose
            </label>
            <select id="purpose" name="purpose" className="input">
              {PERMISSIBLE_PURPOSES.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
            {errors.purpose ? <p role="alert" className="mt-1 text-sm text-red-700">{errors.purpose}</p> : null}
          </div>
          <Field name="daysRequested" label="Days of history (180–731)" type="number" defaultValue={365} min={180} max={731} error={errors.daysRequested} />
          <fieldset>
            <legend className="label">Products besides the base report</legend>
            {REPORT_PRODUCTS.map((p) => (
              <label key={p} className="mr-3 text-sm">
                <input type="checkbox" name="products" value={p} defaultChecked={p === "cra_income_insights"} /> {p}
              </label>
            ))}
            {errors.products ? <p role="alert" className="mt-1 text-sm text-red-700">{errors.products}</p> : null}
          </fieldset>
          <label className="text-sm md:col-span-3">
            <input type="checkbox" name="billable" value="yes" /> I understand that every line queued is a regeneration Plaid bills.
            {errors.billable ? <span role="alert" className="ml-2 text-xs text-red-700">{errors.billable}</span> : null}
          </label>
          <div className="md:col-span-3">
            <StatusButton pending={starting} pendingText="Starting…">
              Start bulk regeneration
            </StatusButton>
          </div>
        </Form>
      ) : null}
      <section className="card p-0" aria-labelledby="runs-heading">
        <h2 id="runs-heading" className="px-4 pt-3 font-semibold">
          Bulk runs
        </h2>
        <TableScroll label="Bulk runs">
        <table className="table-basic" aria-label="Bulk runs">
          <thead>
            <tr>
              <th>Run</th>
              <th>Status</th>
              <th>Started</th>
              <th>Reason</th>
              <th>Lines</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.runs.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link className="link" to={`/reports/bulk/${r.id}`}>
                    #{r.id}
                  </Link>
                </td>
                <td>
                  <Badge tone={r.status === "running" ? "blue" : r.status === "finished" ? "green" : "slate"}>{r.status}</Badge>
                </td>
                <td>
                  <Time value={r.createdAt} now={d.now} />
                  <div className="text-xs text-slate-500">{r.createdByEmail ?? "a removed staff account"}</div>
                </td>
                <td className="text-sm">{r.reason}</td>
                <td className="text-sm">
                  {r.total - r.waiting} of {r.total} processed · {r.queued} queued · {r.skipped} skipped
                </td>
              </tr>
            ))}
            <EmptyRow show={d.runs.length === 0} colSpan={5}>
              No bulk regeneration has been run.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </section>
      <Pager previous={d.firstPage ? null : "?"} next={d.next} />
    </div>
  );
}
