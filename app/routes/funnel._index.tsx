import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { funnelSearch, isoDay, parseFunnelParams } from "~/funnel/params";
import { attributeKeys, funnelReport } from "~/funnel/report.server";
import { requirePermission } from "~/staff/guards.server";
import { FunnelChart, percent, TrendChart } from "~/ui/charts";
import { Field, IsoDateField } from "~/ui/field";
import { formatDuration } from "~/ui/time";
import { TableScroll } from "~/ui/table-scroll";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Funnel");

const DAY_MS = 86_400_000;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "view:funnel");
  const now = context.now();
  const { query, errors, settings } = parseFunnelParams(new URL(request.url).searchParams, now);
  const report = funnelReport(context.db, query, now.getTime());
  return { report, errors, settings, search: funnelSearch(settings), attributes: attributeKeys(context.db), today: isoDay(now.getTime()) };
}

function Delta({ current, previous }: { current: number | null; previous: number | null }) {
  if (current === null || previous === null) return <span className="text-xs text-slate-600">no earlier data</span>;
  const points = (current - previous) * 100;
  const tone = Math.abs(points) < 0.05 ? "text-slate-500" : points > 0 ? "text-emerald-700" : "text-red-700";
  return <span className={`text-xs ${tone}`}>{`${points >= 0 ? "+" : "−"}${Math.abs(points).toFixed(1)} pts vs previous period`}</span>;
}

export default function Funnel() {
  const { report, errors, settings, search, attributes, today } = useLoaderData<typeof loader>();
  const applying = useIsPending({ formMethod: "GET" });
  const { figures, previous } = report;
  const last = figures.steps.length - 1;
  const overall = figures.steps[last]!.fromFirst;
  const previousOverall = previous.figures.steps[last]!.fromFirst;
  const rangeLink = (days: number) => `?${funnelSearch({ ...settings, from: isoDay(Date.parse(`${today}T00:00:00Z`) - (days - 1) * DAY_MS), to: today })}`;
  const bucketLabel = (start: number) => new Date(start).toISOString().slice(5, 10);
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div>
          <h1 className="text-2xl font-bold">Linking funnel</h1>
          <p className="text-sm text-slate-600">
            Customers whose first Link session started {settings.from} – {settings.to} (UTC), followed for {settings.window} days each.
          </p>
        </div>
        <a className="btn" href={`/funnel.csv?${search}`} download>
          Export CSV
        </a>
      </div>

      <Form method="get" className="card flex flex-wrap items-end gap-3" aria-label="Funnel settings">
        <IsoDateField label="From (UTC)" name="from" defaultValue={settings.from} error={errors.from} />
        <IsoDateField label="To (UTC)" name="to" defaultValue={settings.to} error={errors.to} />
        <Field label="Conversion window (days)" name="window" type="number" min={1} max={90} className="input w-28" defaultValue={settings.window} error={errors.window} />
        <div>
          <label className="label" htmlFor="f-interval">
            Trend by
          </label>
          <select id="f-interval" name="interval" className="input" defaultValue={settings.interval}>
            <option value="day">Day</option>
            <option value="week">Week</option>
          </select>
        </div>
        <div>
          <label className="label" htmlFor="f-breakdown">
            Break down by
          </label>
          <select id="f-breakdown" name="breakdown" className="input" defaultValue={settings.breakdown}>
            <option value="">Nothing</option>
            <option value="institution">Institution</option>
            {attributes.map((key) => (
              <option key={key} value={`attr:${key}`}>
                Attribute: {key}
              </option>
            ))}
          </select>
          {errors.breakdown ? <p role="alert" className="mt-1 text-xs text-red-700">{errors.breakdown}</p> : null}
        </div>
        <StatusButton pending={applying} pendingText="Applying…">
          Apply
        </StatusButton>
        <div className="flex gap-1 text-sm">
          {[7, 30, 90].map((days) => (
            <Link key={days} className="btn" to={rangeLink(days)}>
              Last {days} days
            </Link>
          ))}
        </div>
      </Form>

      <section className="grid gap-3 md:grid-cols-4" aria-label="Summary">
        <div className="card">
          <p className="text-xs uppercase text-slate-500">Started linking</p>
          <p className="text-2xl font-semibold" data-testid="summary-started">{report.started.toLocaleString("en-US")}</p>
          <p className="text-xs text-slate-500">previous period: {previous.started.toLocaleString("en-US")}</p>
        </div>
        <div className="card">
          <p className="text-xs uppercase text-slate-500">Cardlytics account linked</p>
          <p className="text-2xl font-semibold">{figures.steps[last]!.count.toLocaleString("en-US")}</p>
          <p className="text-xs text-slate-500">previous period: {previous.figures.steps[last]!.count.toLocaleString("en-US")}</p>
        </div>
        <div className="card">
          <p className="text-xs uppercase text-slate-500">Overall conversion</p>
          <p className="text-2xl font-semibold" data-testid="summary-conversion">{percent(overall)}</p>
          <Delta current={overall} previous={previousOverall} />
        </div>
        <div className="card">
          <p className="text-xs uppercase text-slate-500">Consumer report ready</p>
          <p className="text-2xl font-semibold">{figures.report.count.toLocaleString("en-US")}</p>
          <p className="text-xs text-slate-500">{percent(figures.report.fromItemAdded)} of customers with an item added</p>
        </div>
      </section>

      {report.started === 0 ? (
        <p className="card text-sm text-slate-600">
          No customer started linking in this range. Widen the range, or check that the publisher&apos;s backend is posting events to <code>/api/events</code>.
        </p>
      ) : null}

      <section className="card space-y-3" aria-labelledby="steps-heading">
        <h2 id="steps-heading" className="font-semibold">
          Steps
        </h2>
        <FunnelChart steps={figures.steps} previous={previous.figures.steps.map((s) => s.count)} />
        <p className="text-xs text-slate-500">Bars: this period. Dashed marks: the previous period of the same length ({isoDay(previous.from)} – {isoDay(previous.to - DAY_MS)}).</p>
        <TableScroll label="Funnel steps">
          <table className="table-basic" aria-label="Funnel steps">
            <thead>
              <tr>
                <th>Step</th>
                <th className="text-right">Customers</th>
                <th className="text-right">From previous step</th>
                <th className="text-right">From first step</th>
                <th className="text-right">Dropped off</th>
                <th className="text-right">Median to next</th>
                <th className="text-right">p90 to next</th>
                <th className="text-right">Previous period</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {figures.steps.map((s, i) => (
                <tr key={s.name} data-step={s.name}>
                  <td>{s.label}</td>
                  <td className="text-right tabular-nums">{s.count.toLocaleString("en-US")}</td>
                  <td className="text-right tabular-nums">{percent(s.fromPrevious)}</td>
                  <td className="text-right tabular-nums">{percent(s.fromFirst)}</td>
                  <td className="text-right tabular-nums">
                    {i > 0 && s.dropOff > 0 ? (
                      <Link className="link" to={`/funnel/dropoff?${funnelSearch(settings, { step: String(i) })}`} aria-label={`${s.dropOff} customers dropped before ${s.label}`}>
                        {s.dropOff.toLocaleString("en-US")}
                      </Link>
                    ) : i > 0 ? (
                      "0"
                    ) : (
                      ""
                    )}
                  </td>
                  <td className="text-right tabular-nums">{i < last ? formatDuration(s.medianToNextMs) : ""}</td>
                  <td className="text-right tabular-nums">{i < last ? formatDuration(s.p90ToNextMs) : ""}</td>
                  <td className="text-right tabular-nums">{previous.figures.steps[i]!.count.toLocaleString("en-US")}</td>
                </tr>
              ))}
              <tr data-step="report_ready" className="bg-slate-50">
                <td>↳ Consumer report ready (branch from Item added)</td>
                <td className="text-right tabular-nums">{figures.report.count.toLocaleString("en-US")}</td>
                <td className="text-right tabular-nums">{percent(figures.report.fromItemAdded)}</td>
                <td className="text-right tabular-nums">{percent(report.started ? figures.report.count / report.started : null)}</td>
                <td />
                <td className="text-right tabular-nums" colSpan={2}>
                  {figures.report.medianFromItemAddedMs !== null ? `median ${formatDuration(figures.report.medianFromItemAddedMs)} after item added` : ""}
                </td>
                <td className="text-right tabular-nums">{previous.figures.report.count.toLocaleString("en-US")}</td>
              </tr>
            </tbody>
          </table>
        </TableScroll>
        <p className="text-xs text-slate-500">
          A customer counts at a step when they reached every earlier step and this one within the conversion window of their first Link start. A customer who skips a step stops there.
          Times are nearest-rank percentiles over customers who reached both steps.
        </p>
      </section>

      {report.breakdown ? (
        <section className="card space-y-2" aria-labelledby="breakdown-heading">
          <h2 id="breakdown-heading" className="font-semibold">
            By {settings.breakdown === "institution" ? "institution" : settings.breakdown.slice(5)}
          </h2>
          <TableScroll label="Breakdown">
            <table className="table-basic" aria-label="Breakdown">
              <thead>
                <tr>
                  <th>Value</th>
                  {figures.steps.map((s) => (
                    <th key={s.name} className="text-right">
                      {s.label}
                    </th>
                  ))}
                  <th className="text-right">Conversion</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {report.breakdown.map((g) => (
                  <tr key={g.value}>
                    <td>{g.value}</td>
                    {g.figures.steps.map((s) => (
                      <td key={s.name} className="text-right tabular-nums">
                        {s.count.toLocaleString("en-US")}
                      </td>
                    ))}
                    <td className="text-right tabular-nums">{percent(g.figures.steps[last]!.fromFirst)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        </section>
      ) : null}

      <div className="grid gap-4 lg:grid-cols-2">
        <section className="card space-y-2" aria-labelledby="trend-heading">
          <h2 id="trend-heading" className="font-semibold">
            Overall conversion by {settings.interval}
          </h2>
          <TrendChart points={report.trend} label={bucketLabel} />
          <details>
            <summary className="cursor-pointer text-sm text-indigo-700">Figures</summary>
            <TableScroll label="Trend">
            <table className="table-basic" aria-label="Trend">
              <thead>
                <tr>
                  <th>{settings.interval === "day" ? "Day" : "Week of"}</th>
                  <th className="text-right">Started</th>
                  <th className="text-right">Linked</th>
                  <th className="text-right">Conversion</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {report.trend.map((p) => (
                  <tr key={p.start}>
                    <td>
                      {isoDay(p.start)}
                      {p.complete ? "" : <span className="ml-1 text-xs text-slate-500">(window open)</span>}
                    </td>
                    <td className="text-right tabular-nums">{p.started}</td>
                    <td className="text-right tabular-nums">{p.linked}</td>
                    <td className="text-right tabular-nums">{percent(p.conversion)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </TableScroll>
          </details>
        </section>

        <section className="card space-y-2" aria-labelledby="exits-heading">
          <h2 id="exits-heading" className="font-semibold">
            Why customers left Link
          </h2>
          {report.exits.length ? (
            <TableScroll label="Link exit reasons">
            <table className="table-basic" aria-label="Link exit reasons">
              <thead>
                <tr>
                  <th>Reason</th>
                  <th className="text-right">Errors shown</th>
                  <th className="text-right">Exits</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {report.exits.map((e) => (
                  <tr key={e.code}>
                    <td>{e.code ? <span className="font-mono text-xs">{e.code}</span> : "Closed Link with no error"}</td>
                    <td className="text-right tabular-nums">{e.errors}</td>
                    <td className="text-right tabular-nums">{e.exits}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            </TableScroll>
          ) : (
            <p className="text-sm text-slate-600">No Link exits or errors in this range.</p>
          )}
        </section>
      </div>
    </div>
  );
}
