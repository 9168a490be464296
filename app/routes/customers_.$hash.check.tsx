import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { requireAccessReason } from "~/customers/access-reason.server";
import { isCustomerHash } from "~/customers/customer-id";
import { plaidErrorResponse } from "~/plaid/guards.server";
import { craUserOf, createCraUser, reportExpiresAt, reportsOfCustomer, reportState, ReportRuleError, requestReport } from "~/reports/check-reports.server";
import { probeReport } from "~/reports/report-view.server";
import { identityForm, PERMISSIBLE_PURPOSES, regenerationForm, REPORT_PRODUCTS } from "~/reports/identity-form";
import { parseForm } from "~/staff/forms";
import { requireIntentPermission, requirePermission } from "~/staff/guards.server";
import { CHECK_INTENT_PERMISSIONS } from "~/reports/check-intents";
import { can } from "~/staff/permissions";
import { Countdown } from "~/ui/countdown";
import { Field, FieldError, FormError, IsoDateField, SelectField } from "~/ui/field";
import { Notice } from "~/ui/notice";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { plural } from "~/lib/plural";
import { PlaidErrorPanel } from "~/ui/plaid-error";
import { ReportStateBadge } from "~/ui/report-state";
import { useRevalidateWhile } from "~/ui/revalidate";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args, args.data ? `Customer ${args.data.hash.slice(0, 8)}…` : null, "Plaid Check");

function customerHash(params: { hash?: string }): string {
  const hash = params.hash ?? "";
  if (!isCustomerHash(hash)) throw new Response("A customer address ends in the 64 hex characters of the hashed customer id.", { status: 404 });
  return hash;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:customer");
  const hash = customerHash(params);
  requireAccessReason(request, context, staff, hash);
  const now = context.now().getTime();
  const user = craUserOf(context.db, hash);
  const reports = reportsOfCustomer(context.db, hash);
  // "Regenerate" on an expired report brings its purpose, days and products back into the form.
  const fromId = Number(new URL(request.url).searchParams.get("from"));
  const from = reports.find((r) => r.id === fromId && r.origin === "console");
  const newestSent = reports.find((r) => r.sentAt || r.origin === "plaid");
  return {
    hash,
    user: user ? { generation: user.generation, userId: user.userId, createdAt: user.createdAt.getTime() } : null,
    reports: reports.map((r) => ({
      id: r.id,
      state: reportState(r, now, context.config.cra.webhookTimeoutMs),
      latest: r.id === newestSent?.id,
      origin: r.origin,
      reason: r.reason,
      purpose: r.purpose,
      daysRequested: r.daysRequested,
      products: r.products,
      requestedAt: r.requestedAt.getTime(),
      sentAt: r.sentAt?.getTime() ?? null,
      completedAt: r.completedAt?.getTime() ?? null,
      expiresAt: reportExpiresAt(r),
      probeCode: r.probeCode,
      failedProducts: r.failedProducts,
      errorCode: r.errorCode,
      plaidRequestId: r.plaidRequestId,
    })),
    defaults: from ? { purpose: from.purpose ?? PERMISSIBLE_PURPOSES[0], daysRequested: from.daysRequested ?? 365, products: from.products, fromId: from.id } : { purpose: PERMISSIBLE_PURPOSES[0], daysRequested: 365, products: ["cra_income_insights"], fromId: null },
    may: { user: can(staff.role, "manage:cra-user"), regenerate: can(staff.role, "regenerate:report"), sandbox: can(staff.role, "mint:sandbox-token") && context.config.plaid.env === "sandbox" },
    cooldownMinutes: context.config.cra.cooldownMs / 60_000,
    webhookTimeoutMinutes: context.config.cra.webhookTimeoutMs / 60_000,
    now,
  };
}

export async function action({ request, context, params }: ActionFunctionArgs) {
  const { staff, form, intent } = await requireIntentPermission(request, context, CHECK_INTENT_PERMISSIONS);
  const hash = customerHash(params);
  requireAccessReason(request, context, staff, hash);
  const ctx = { actor: staff, clientAddress: context.clientAddress };
  try {
    if (intent === "probe") {
      const id = Number(form.get("report"));
      if (!reportsOfCustomer(context.db, hash).some((r) => r.id === id)) return data({ ok: false as const, message: "That report request is not this customer's.", fieldErrors: {} as Record<string, string> }, { status: 404 });
      const result = await probeReport(context, id, ctx);
      return { ok: true as const, message: `Report #${id}: ${result.message}` };
    }
    if (intent === "regenerate") {
      const parsed = parseForm(regenerationForm, form, ["products"]);
      if (!parsed.ok) return data({ ok: false as const, fieldErrors: parsed.fieldErrors, message: "Check the highlighted fields." }, { status: 400 });
      const row = requestReport(context, { customerHash: hash, reason: parsed.data.reason, purpose: parsed.data.purpose, daysRequested: parsed.data.daysRequested, products: parsed.data.products }, ctx);
      return { ok: true as const, reportId: row.id, message: `Report #${row.id} queued; it goes to Plaid within seconds, inside the per-minute cap, and turns ready or failed when Plaid's webhook arrives.` };
    }
    const parsed = parseForm(identityForm, form);
    if (!parsed.ok) return data({ ok: false as const, fieldErrors: parsed.fieldErrors, message: "Check the highlighted fields." }, { status: 400 });
    const user = await createCraUser(context, { customerHash: hash, identity: parsed.data }, ctx);
    return { ok: true as const, message: `Plaid Check user ${user.userId} created (${user.generation === "new" ? "current" : "older"} user API).` };
  } catch (error) {
    if (error instanceof ReportRuleError) return data({ ok: false as const, message: error.message, fieldErrors: {} as Record<string, string> }, { status: 409 });
    return plaidErrorResponse(error);
  }
}

export default function PlaidCheck() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const creatingUser = useIsPending({ match: { intent: "user" } });
  const regenerating = useIsPending({ match: { intent: "regenerate" } });
  const probing = useIsPending({ match: { intent: "probe" } });
  const navigationReport = useNavigation().formData?.get("report");
  const errors: Record<string, string | undefined> = result && !result.ok && "fieldErrors" in result ? result.fieldErrors : {};
  useRevalidateWhile(d.reports.some((r) => r.state === "queued" || r.state === "pending"));
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link to={`/customers/${d.hash}`} className="link">
          ← Customer {d.hash.slice(0, 12)}…
        </Link>
      </p>
      <h1 className="text-2xl font-bold">Plaid Check consumer reports</h1>
      {result && "plaidError" in result ? <PlaidErrorPanel error={result.plaidError} /> : null}
      {result && "message" in result ? (
        result.ok ? <Notice tone="success">{result.message}</Notice> : <FormError message={result.message} />
      ) : null}
      {d.user ? (
        <p className="text-sm">
          Plaid Check user <span className="font-mono">{d.user.userId}</span> ({d.user.generation === "new" ? "current user API" : "older user API, with a stored user_token"}), created <Time value={d.user.createdAt} now={d.now} />.
          {d.may.sandbox ? (
            <>
              {" "}
              <Link className="link" to={`/plaid/sandbox?customer=${d.hash}&cra=1`}>
                Link a sandbox bank to this user →
              </Link>
            </>
          ) : null}
        </p>
      ) : d.may.user ? (
        <Form method="post" className="card grid gap-3 md:grid-cols-3" noValidate aria-label="Create the Plaid Check user">
          <input type="hidden" name="intent" value="user" />
          <p className="text-sm text-slate-600 md:col-span-3">This customer has no Plaid Check user yet. Plaid needs the customer's identity; it is sent to Plaid and not stored here.</p>
          <Field name="givenName" label="Given name" error={errors.givenName} />
          <Field name="familyName" label="Family name" error={errors.familyName} />
          <IsoDateField name="dateOfBirth" label="Date of birth" error={errors.dateOfBirth} />
          <Field name="phone" label="Phone (E.164)" placeholder="+14155550123" error={errors.phone} />
          <Field name="email" label="Email" type="email" error={errors.email} />
          <Field name="street" label="Street" error={errors.street} />
          <Field name="city" label="City" error={errors.city} />
          <Field name="region" label="State" placeholder="CA" maxLength={2} error={errors.region} />
          <Field name="postalCode" label="ZIP code" error={errors.postalCode} />
          <div className="md:col-span-3">
            <StatusButton pending={creatingUser} pendingText="Creating the user…">
              Create Plaid Check user
            </StatusButton>
          </div>
        </Form>
      ) : (
        <p className="text-sm text-slate-600">This customer has no Plaid Check user.</p>
      )}
      {d.user && d.may.regenerate ? (
        <Form method="post" id="regenerate" className="card grid gap-3 md:grid-cols-3" noValidate aria-label="Regenerate the report" key={`${d.defaults.fromId ?? "new"}:${result && "reportId" in result ? result.reportId : ""}`}>
          <input type="hidden" name="intent" value="regenerate" />
          {d.defaults.fromId ? <p className="text-sm text-slate-600 md:col-span-3">With the purpose, days and products of report #{d.defaults.fromId}.</p> : null}
          <div className="md:col-span-3">
            <Field name="reason" label="Reason (kept in the audit log)" error={errors.reason} />
          </div>
          <SelectField name="purpose" label="Permissible purpose" defaultValue={d.defaults.purpose}>
            {PERMISSIBLE_PURPOSES.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </SelectField>
          <Field name="daysRequested" label="Days of history (180–731)" type="number" defaultValue={d.defaults.daysRequested} min={180} max={731} error={errors.daysRequested} />
          <fieldset className="min-w-0">
            <legend className="label">Products besides the base report</legend>
            <div className="flex flex-wrap gap-x-4 gap-y-1">
              {REPORT_PRODUCTS.map((p) => (
                <label key={p} className="inline-flex items-center gap-1.5 whitespace-nowrap text-sm">
                  <input type="checkbox" name="products" value={p} defaultChecked={d.defaults.products.includes(p)} />
                  <span className="font-mono text-xs">{p}</span>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="md:col-span-3">
            <label className="flex items-start gap-2 text-sm">
              <input type="checkbox" name="billable" value="yes" className="mt-0.5" aria-invalid={errors.billable ? true : undefined} aria-describedby={errors.billable ? "billable-error" : undefined} />
              <span>I understand that each regeneration is billed by Plaid. One per customer every {plural(d.cooldownMinutes, "minute")}.</span>
            </label>
            <FieldError id="billable-error" message={errors.billable} />
          </div>
          <div className="md:col-span-3">
            <StatusButton pending={regenerating} pendingText="Queueing…">
              Regenerate report
            </StatusButton>
          </div>
        </Form>
      ) : null}
      <section className="card p-0" aria-labelledby="reports-heading">
        <h2 id="reports-heading" className="px-4 pt-3 font-semibold">
          Report requests
        </h2>
        <TableScroll label="Report requests">
        <table className="table-basic" aria-label="Report requests">
          <thead>
            <tr>
              <th>#</th>
              <th>State</th>
              <th>Requested</th>
              <th>Purpose · days · products</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {d.reports.map((r) => (
              <tr key={r.id} className={r.state === "stuck" ? "bg-red-50" : undefined}>
                <td>
                  <Link className="link" to={`/reports/${r.id}`} aria-label={`Report request ${r.id}`}>
                    #{r.id}
                  </Link>
                </td>
                <td>
                  <ReportStateBadge state={r.state} />
                </td>
                <td>
                  <Time value={r.requestedAt} now={d.now} />
                  <div className="text-xs text-slate-500">{r.origin === "plaid" ? "generated by Plaid" : r.reason}</div>
                </td>
                <td className="text-xs">
                  {r.purpose ?? "—"} · {r.daysRequested ?? "—"} · {r.products.join(", ") || "base report"}
                </td>
                <td className="space-y-1 text-xs">
                  {r.state === "ready" && r.expiresAt ? (
                    r.latest ? (
                      <div>
                        <Link className="link" to={`/reports/${r.id}`}>
                          View report
                        </Link>{" "}
                        · <Countdown until={r.expiresAt} now={d.now} expiredText="expired" />
                      </div>
                    ) : (
                      <div>replaced at Plaid by a newer report</div>
                    )
                  ) : null}
                  {r.state === "expired" && d.may.regenerate && r.origin === "console" ? (
                    <Link className="link" to={`?from=${r.id}#regenerate`}>
                      Regenerate with the same settings
                    </Link>
                  ) : null}
                  {r.state === "stuck" ? (
                    <div>
                      No webhook after {d.webhookTimeoutMinutes} minutes.
                      {d.may.regenerate ? (
                        <Form method="post" className="mt-1">
                          <input type="hidden" name="intent" value="probe" />
                          <input type="hidden" name="report" value={r.id} />
                          <StatusButton className="btn px-2 py-0.5 text-xs" pending={probing && navigationReport === String(r.id)} pendingText="Probing…">
                            Probe Plaid
                          </StatusButton>
                        </Form>
                      ) : null}
                    </div>
                  ) : null}
                  {r.probeCode === "PRODUCT_NOT_READY" && r.state === "stuck" ? <div>Last probe: PRODUCT_NOT_READY (still pending)</div> : null}
                  {r.failedProducts?.length ? <div>failed products: {r.failedProducts.join(", ")}</div> : null}
                  {r.errorCode ? <div className="font-mono">{r.errorCode}</div> : null}
                  {r.plaidRequestId ? <div className="font-mono text-slate-500">request_id {r.plaidRequestId}</div> : null}
                </td>
              </tr>
            ))}
            <EmptyRow show={d.reports.length === 0} colSpan={5}>
              No report has been requested or received for this customer.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </section>
    </div>
  );
}
