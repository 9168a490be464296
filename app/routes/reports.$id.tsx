import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { requireAccessReason } from "~/customers/access-reason.server";
import { plaidErrorResponse, type ShownPlaidError } from "~/plaid/guards.server";
import { reportExpiresAt, reportState, ReportRuleError } from "~/reports/check-reports.server";
import { craUserItems, probeReport, readReport, reportDetail } from "~/reports/report-view.server";
import { readForm, requirePermission } from "~/staff/guards.server";
import { can } from "~/staff/permissions";
import { CopyButton } from "~/ui/copy-button";
import { Countdown } from "~/ui/countdown";
import { FormError } from "~/ui/field";
import { JsonViewer } from "~/ui/json-viewer";
import { PlaidErrorPanel } from "~/ui/plaid-error";
import { formatMoney, ReportStateBadge } from "~/ui/report-state";
import { useRevalidateWhile } from "~/ui/revalidate";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { plural } from "~/lib/plural";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { StatusButton, useIsPending } from "~/ui/status-button";

export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args, args.data ? `Report #${args.data.report.id}` : "Report", "Plaid Check");

function reportId(params: { id?: string }): number {
  const id = Number(params.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Response("A report request is addressed by its number.", { status: 404 });
  return id;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const detail = reportDetail(context.db, reportId(params));
  if (!detail) throw new Response("No report request with that number.", { status: 404 });
  const { report: r, user } = detail;
  // A consumer report is one customer's data: the reason for opening that customer comes first.
  requireAccessReason(request, context, staff, r.customerHash);
  const now = context.now().getTime();
  let state = reportState(r, now, context.config.cra.webhookTimeoutMs);
  const readable = state === "ready" && !detail.supersededBy;
  const view = readable ? await readReport(context, detail, { actor: staff, clientAddress: context.clientAddress }) : null;
  // Plaid's own clock decides: it may call the report expired before ours does.
  const plaidSaysExpired = view?.base && !view.base.ok && view.base.error.errorCode === "CONSUMER_REPORT_EXPIRED";
  if (plaidSaysExpired) state = "expired";
  const items = state === "failed" ? await craUserItems(context, user) : null;
  return {
    report: {
      id: r.id,
      customerHash: r.customerHash,
      origin: r.origin,
      reason: r.reason,
      purpose: r.purpose,
      daysRequested: r.daysRequested,
      products: r.products,
      requestedAt: r.requestedAt.getTime(),
      requesterEmail: detail.requesterEmail,
      sentAt: r.sentAt?.getTime() ?? null,
      completedAt: r.completedAt?.getTime() ?? null,
      settledBy: r.settledBy,
      plaidRequestId: r.plaidRequestId,
      successfulProducts: r.successfulProducts,
      failedProducts: r.failedProducts,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      retryAt: r.retryAt?.getTime() ?? null,
      probedAt: r.probedAt?.getTime() ?? null,
      probeCode: r.probeCode,
      probeRequestId: r.probeRequestId,
      bulkRunId: detail.bulkRunId,
      expiresAt: reportExpiresAt(r),
    },
    user: { userId: user.userId, generation: user.generation },
    state,
    plaidSaysExpired: Boolean(plaidSaysExpired),
    supersededBy: detail.supersededBy,
    view,
    items,
    may: { probe: can(staff.role, "regenerate:report"), regenerate: can(staff.role, "regenerate:report") },
    webhookTimeoutMinutes: context.config.cra.webhookTimeoutMs / 60_000,
    now,
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "regenerate:report");
  const id = reportId(params);
  const detail = reportDetail(context.db, id);
  if (detail) requireAccessReason(request, context, staff, detail.report.customerHash);
  const form = await readForm(request);
  if (form.get("intent") !== "probe") return data({ ok: false as const, message: "Unknown action." }, { status: 400 });
  try {
    const result = await probeReport(context, id, { actor: staff, clientAddress: context.clientAddress });
    return { ok: true as const, message: result.message };
  } catch (error) {
    if (error instanceof ReportRuleError) return data({ ok: false as const, message: error.message }, { status: 409 });
    return plaidErrorResponse(error);
  }
}

type LoaderData = ReturnType<typeof useLoaderData<typeof loader>>;

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <dt className="text-xs uppercase tracking-wide text-slate-500">{label}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

function ProbeForm() {
  const probing = useIsPending({ match: { intent: "probe" } });
  return (
    <Form method="post" className="inline">
      <input type="hidden" name="intent" value="probe" />
      <StatusButton className="btn" pending={probing} pendingText="Asking Plaid…">
        Probe Plaid (base_report/get)
      </StatusButton>
    </Form>
  );
}

function SectionError({ title, error }: { title: string; error: ShownPlaidError }) {
  return (
    <div className="space-y-1">
      <h3 className="font-semibold">{title}</h3>
      <PlaidErrorPanel error={error} />
    </div>
  );
}

function BaseReport({ view, now }: { view: NonNullable<LoaderData["view"]>; now: number }) {
  if (!view.base) return null;
  if (!view.base.ok) return <SectionError title="Base report" error={view.base.error} />;
  const b = view.base.summary;
  const accounts = b.items.flatMap((i) => i.accounts.map((a) => ({ ...a, institutionName: i.institutionName })));
  return (
    <section className="card space-y-3" aria-labelledby="base-heading">
      <h2 id="base-heading" className="font-semibold">
        Base report
      </h2>
      <dl className="grid grid-cols-2 gap-3 md:grid-cols-5">
        <Fact label="Generated">
          <Time value={b.generatedAt} now={now} />
        </Fact>
        <Fact label="Days requested">{b.daysRequested}</Fact>
        <Fact label="Money in">{formatMoney(b.moneyIn?.amount, b.moneyIn?.currency)}</Fact>
        <Fact label="Money out">{formatMoney(b.moneyOut?.amount, b.moneyOut?.currency)}</Fact>
        <Fact label="NSF / overdrafts">{b.nsfOverdrafts ?? "—"}</Fact>
      </dl>
      <p className="font-mono text-xs text-slate-500">
        report_id {b.reportId} <CopyButton value={b.reportId} />
      </p>
      {b.warnings.length ? (
        <ul className="list-disc pl-5 text-sm text-amber-900">
          {b.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      ) : null}
      <TableScroll label="Accounts in the report">
        <table className="table-basic" aria-label="Accounts in the report">
          <thead>
            <tr>
              <th>Institution</th>
              <th>Account</th>
              <th>Type</th>
              <th className="text-right">Current</th>
              <th className="text-right">Available</th>
              <th className="text-right">Average</th>
              <th className="text-right">Days available</th>
              <th className="text-right">Transactions</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {accounts.map((a) => (
              <tr key={a.accountId}>
                <td>{a.institutionName}</td>
                <td>
                  {a.name} {a.mask ? <span className="font-mono text-xs">••{a.mask}</span> : null}
                </td>
                <td className="text-xs">
                  {a.type}
                  {a.subtype ? ` / ${a.subtype}` : ""}
                </td>
                <td className="text-right">{formatMoney(a.current, a.currency)}</td>
                <td className="text-right">{formatMoney(a.available, a.currency)}</td>
                <td className="text-right">{formatMoney(a.averageBalance, a.currency)}</td>
                <td className="text-right">{a.daysAvailable}</td>
                <td className="text-right">{a.transactions}</td>
              </tr>
            ))}
            <EmptyRow show={accounts.length === 0} colSpan={8}>
              The report holds no account.
            </EmptyRow>
          </tbody>
        </table>
      </TableScroll>
    </section>
  );
}

function IncomeInsights({ view }: { view: NonNullable<LoaderData["view"]> }) {
  if (!view.income) return null;
  if (!view.income.ok) return <SectionError title="Income insights" error={view.income.error} />;
  const s = view.income.summary;
  return (
    <section className="card space-y-3" aria-labelledby="income-heading">
      <h2 id="income-heading" className="font-semibold">
        Income insights
      </h2>
      <p className="text-sm">
        {plural(s.streams.length, "income stream")}; active streams bring in <strong>{formatMoney(s.monthlyNetTotal)}</strong> net a month.
      </p>
      {s.streams.length ? (
        <TableScroll label="Income streams">
          <table className="table-basic" aria-label="Income streams">
            <thead>
              <tr>
                <th>Stream</th>
                <th>Category</th>
                <th>Frequency</th>
                <th>Status</th>
                <th className="text-right">Monthly net</th>
                <th className="text-right">Monthly gross</th>
                <th>Next payment</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {s.streams.map((st) => (
                <tr key={st.id}>
                  <td>
                    {st.description}
                    {st.provider ? <div className="text-xs text-slate-500">{st.provider}</div> : null}
                  </td>
                  <td className="text-xs">{st.category}</td>
                  <td className="text-xs">{st.payFrequency}</td>
                  <td className="text-xs">{st.status}</td>
                  <td className="text-right">{formatMoney(st.monthlyNet, st.currency)}</td>
                  <td className="text-right">{formatMoney(st.monthlyGross, st.currency)}</td>
                  <td className="text-xs">{st.nextPayment ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      ) : null}
    </section>
  );
}

function PartnerInsights({ view }: { view: NonNullable<LoaderData["view"]> }) {
  if (!view.partner) return null;
  if (!view.partner.ok) return <SectionError title="Partner insights" error={view.partner.error} />;
  const p = view.partner.summary;
  return (
    <section className="card space-y-2" aria-labelledby="partner-heading">
      <h2 id="partner-heading" className="font-semibold">
        Partner insights
      </h2>
      <dl className="grid grid-cols-2 gap-3 md:grid-cols-4">
        <Fact label="Prism status">{p.prismStatus ?? "—"}</Fact>
        <Fact label="CashScore">
          {p.cashScore ?? "—"}
          {p.cashScoreVersion ? <span className="text-xs text-slate-500"> (v{p.cashScoreVersion})</span> : null}
        </Fact>
        <Fact label="Reason codes">{p.reasonCodes.length ? p.reasonCodes.join(", ") : "none"}</Fact>
        <Fact label="FICO">{p.fico ? "included" : "not requested"}</Fact>
      </dl>
    </section>
  );
}

function FailureDetails({ d }: { d: LoaderData }) {
  const r = d.report;
  return (
    <section className="card space-y-3" aria-labelledby="failure-heading">
      <h2 id="failure-heading" className="font-semibold">
        Why it failed
      </h2>
      <p className="text-sm">
        <span className="font-mono">{r.errorCode ?? "unknown"}</span>
        {r.errorMessage ? `: ${r.errorMessage}` : ""}
      </p>
      {r.failedProducts?.length ? <p className="text-sm">Failed products: {r.failedProducts.join(", ")}</p> : null}
      <h3 className="text-sm font-semibold">The user's Items, from /user/items/get</h3>
      {d.items && !d.items.ok ? <PlaidErrorPanel error={d.items.error} /> : null}
      {d.items?.ok ? (
        <TableScroll label="Items of the Plaid Check user">
        <table className="table-basic" aria-label="Items of the Plaid Check user">
          <thead>
            <tr>
              <th>Institution</th>
              <th>item_id</th>
              <th>Error</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.items.items.map((i) => (
              <tr key={i.itemId}>
                <td>{i.institutionName ?? "—"}</td>
                <td className="font-mono text-xs">
                  {i.itemId} <CopyButton value={i.itemId} />
                </td>
                <td className="text-sm">
                  {i.error ? (
                    <>
                      <span className="font-mono text-red-800">{i.error.code}</span> <span className="text-xs text-slate-500">({i.error.type})</span>
                      <div className="text-xs">{i.error.message}</div>
                    </>
                  ) : (
                    <span className="text-slate-500">no error</span>
                  )}
                </td>
              </tr>
            ))}
            <EmptyRow show={d.items.items.length === 0} colSpan={3}>
              The user has no Item: the customer never linked a bank through a Plaid Check Link session, so Plaid had nothing to report on.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      ) : null}
    </section>
  );
}

export default function ReportRequest() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const r = d.report;
  useRevalidateWhile(d.state === "queued" || d.state === "pending");
  const regenerateHref = `/customers/${r.customerHash}/check?from=${r.id}#regenerate`;
  return (
    <div className="space-y-4">
      <p className="flex flex-wrap gap-4 text-sm">
        <Link to={`/customers/${r.customerHash}/check`} className="link">
          ← Plaid Check for customer {r.customerHash.slice(0, 12)}…
        </Link>
        <Link to="/reports" className="link">
          All report requests
        </Link>
      </p>
      <h1 className="flex items-center gap-3 text-2xl font-bold">
        Report request #{r.id} <ReportStateBadge state={d.state} />
      </h1>
      {result && "plaidError" in result ? <PlaidErrorPanel error={result.plaidError} /> : null}
      {result && "message" in result ? (
        result.ok ? <Notice tone="success">{result.message}</Notice> : <FormError message={result.message} />
      ) : null}
      <dl className="card grid grid-cols-2 gap-3 md:grid-cols-4">
        <Fact label="Customer">
          <Link className="font-mono text-xs link" to={`/customers/${r.customerHash}`}>
            {r.customerHash.slice(0, 16)}…
          </Link>
        </Fact>
        <Fact label="Requested">
          <Time value={r.requestedAt} now={d.now} />
          <div className="text-xs text-slate-500">{r.origin === "plaid" ? "generated by Plaid after a Link session" : `by ${r.requesterEmail ?? "a removed staff account"}`}</div>
        </Fact>
        <Fact label="Reason">{r.reason ?? "—"}</Fact>
        <Fact label="Purpose · days · products">
          <span className="text-xs">
            {r.purpose ?? "—"} · {r.daysRequested ?? "—"} · {r.products.join(", ") || "base report"}
          </span>
        </Fact>
        <Fact label="Sent to Plaid">
          <Time value={r.sentAt} now={d.now} />
          {r.retryAt ? <div className="text-xs text-amber-800">Plaid's rate limit answered; the queue retries <Time value={r.retryAt} now={d.now} /></div> : null}
        </Fact>
        <Fact label="Settled">
          {r.completedAt ? <Time value={r.completedAt} now={d.now} /> : "—"}
          {r.settledBy ? <div className="text-xs text-slate-500">{r.settledBy === "probe" ? "by a probe: the webhook never came" : "by Plaid's webhook"}</div> : null}
        </Fact>
        <Fact label="Plaid Check user">
          <span className="font-mono text-xs">{d.user.userId}</span> <span className="text-xs text-slate-500">({d.user.generation === "new" ? "current API" : "older API"})</span>
        </Fact>
        <Fact label="Plaid request_id">
          {r.plaidRequestId ? (
            <span className="font-mono text-xs">
              {r.plaidRequestId} <CopyButton value={r.plaidRequestId} />
            </span>
          ) : (
            "—"
          )}
        </Fact>
        {r.bulkRunId ? (
          <Fact label="Bulk run">
            <Link className="link" to={`/reports/bulk/${r.bulkRunId}`}>
              run #{r.bulkRunId}
            </Link>
          </Fact>
        ) : null}
      </dl>

      {d.state === "stuck" ? (
        <Notice tone="error" className="space-y-2">
          <p>
            Sent <Time value={r.sentAt} now={d.now} /> and no READY or FAILED webhook since: more than {d.webhookTimeoutMinutes} minutes. A probe asks Plaid's base_report/get directly: PRODUCT_NOT_READY means it is still being generated; a report means the webhook was lost.
          </p>
          {d.may.probe ? <ProbeForm /> : <p className="text-xs">Ops can probe Plaid for this request.</p>}
        </Notice>
      ) : null}
      {r.probedAt && r.probeCode ? (
        <p className="text-sm text-slate-700" data-testid="last-probe">
          Last probe <Time value={r.probedAt} now={d.now} />: <span className="font-mono">{r.probeCode}</span>
          {r.probeCode === "PRODUCT_NOT_READY" ? " (still pending)" : ""}
          {r.probeRequestId ? <span className="font-mono text-xs text-slate-500"> request_id {r.probeRequestId}</span> : null}
        </p>
      ) : null}
      {d.state === "queued" ? <p className="text-sm">Waiting in the queue; requests go to Plaid in order within the per-minute cap.</p> : null}
      {d.state === "pending" ? <p className="text-sm">Sent to Plaid; waiting for the CHECK_REPORT webhook. This page updates itself when it arrives.</p> : null}

      {d.supersededBy && (d.state === "ready" || d.state === "expired") ? (
        <p className="rounded-md border border-slate-200 bg-white px-3 py-2 text-sm">
          Plaid keeps only a user's latest report, and{" "}
          <Link className="link" to={`/reports/${d.supersededBy}`}>
            report #{d.supersededBy}
          </Link>{" "}
          has replaced this one.
        </p>
      ) : null}

      {d.state === "ready" && r.expiresAt && !d.supersededBy ? (
        <p className="rounded-md border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm">
          Readable from Plaid for <strong><Countdown until={r.expiresAt} now={d.now} expiredText="no time: it has just expired, reload" /></strong>, until <Time value={r.expiresAt} now={d.now} />.
        </p>
      ) : null}
      {d.state === "expired" ? (
        <Notice tone="warning" role="status" className="flex flex-wrap items-center gap-3" testId="expired-report">
          <span>
            This report has expired{r.expiresAt && !d.plaidSaysExpired ? <> (<Time value={r.expiresAt} now={d.now} />)</> : null}: Plaid serves a consumer report for 24 hours only{d.plaidSaysExpired ? ", and Plaid answered CONSUMER_REPORT_EXPIRED" : ""}.
          </span>
          {d.may.regenerate ? (
            <Link className="btn-primary" to={regenerateHref}>
              Regenerate
            </Link>
          ) : null}
        </Notice>
      ) : null}

      {d.state === "failed" ? <FailureDetails d={d} /> : null}
      {d.state === "ready" && r.failedProducts?.length ? (
        <Notice tone="warning" role="note">Ready, but these products failed: {r.failedProducts.join(", ")}.</Notice>
      ) : null}
      {d.view && d.state === "ready" ? (
        <>
          <BaseReport view={d.view} now={d.now} />
          <IncomeInsights view={d.view} />
          <PartnerInsights view={d.view} />
          <section className="space-y-2" aria-label="Raw JSON">
            <h2 className="font-semibold">Raw answers from Plaid</h2>
            {d.view.base?.ok ? <JsonViewer label="base_report/get" value={d.view.base.raw} /> : null}
            {d.view.income?.ok ? <JsonViewer label="income_insights/get" value={d.view.income.raw} /> : null}
            {d.view.partner?.ok ? <JsonViewer label="partner_insights/get" value={d.view.partner.raw} /> : null}
          </section>
        </>
      ) : null}
      {d.view && d.state === "expired" && d.view.base && !d.view.base.ok ? <PlaidErrorPanel error={d.view.base.error} /> : null}
    </div>
  );
}
