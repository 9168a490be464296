import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Form, Link, useLoaderData } from "@remix-run/react";
import { distinctAuditActions, listAudit } from "~/staff/audit.server";
import { parseAuditQuery } from "~/staff/audit-filter";
import { requirePermission } from "~/staff/guards.server";
import { listStaff } from "~/staff/staff-users.server";
import { IsoDateField } from "~/ui/field";
import { Pager } from "~/ui/pager";
import { Time } from "~/ui/time";
import { EmptyRow } from "~/ui/empty-row";
import { TableScroll } from "~/ui/table-scroll";
import { auditActionLabel, auditDetailPairs } from "~/staff/audit-labels";
import { CopyButton } from "~/ui/copy-button";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Audit log");

const PAGE_SIZE = 50;

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "view:audit");
  const url = new URL(request.url);
  const { filter, before, values, errors } = parseAuditQuery(url.searchParams);
  const page = listAudit(context.db, filter, { beforeId: before, limit: PAGE_SIZE });
  const filterOnly = new URLSearchParams(Object.entries(values).filter(([k]) => k !== "before" && !errors[k]));
  return {
    entries: page.entries.map((e) => ({
      id: e.id,
      at: e.at.getTime(),
      staffUserId: e.staffUserId,
      staffEmail: e.staffEmail,
      role: e.role,
      action: e.action,
      target: e.targetType ? `${e.targetType}:${e.targetId ?? ""}` : null,
      customerHash: e.customerHash,
      clientAddress: e.clientAddress,
      details: auditDetailPairs(e.details),
    })),
    nextPage: page.nextBeforeId ? `?${new URLSearchParams([...filterOnly, ["before", String(page.nextBeforeId)]])}` : null,
    firstPage: before ? `?${filterOnly}` : null,
    exportHref: `/admin/audit.csv?${filterOnly}`,
    values,
    errors,
    staff: listStaff(context.db).map((s) => ({ id: s.id, email: s.email })),
    actions: distinctAuditActions(context.db),
    now: context.now().getTime(),
  };
}

function FilterError({ message }: { message?: string }) {
  return message ? (
    <p role="alert" className="mt-1 text-xs text-red-700">
      {message}
    </p>
  ) : null;
}

export default function AuditLog() {
  const { entries, nextPage, firstPage, exportHref, values, errors, staff, actions, now } = useLoaderData<typeof loader>();
  const filtering = useIsPending({ formMethod: "GET" });
  return (
    <div className="space-y-4">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-bold">Audit log</h1>
        <a className="btn" href={exportHref} download>
          Export CSV
        </a>
      </div>
      <Form method="get" className="card grid grid-cols-2 gap-3 md:grid-cols-6" aria-label="Filter the audit log">
        <div>
          <label className="label" htmlFor="f-staff">
            Staff
          </label>
          <select id="f-staff" name="staff" className="input" defaultValue={values.staff ?? ""}>
            <option value="">Anyone</option>
            {staff.map((s) => (
              <option key={s.id} value={s.id}>
                {s.email}
              </option>
            ))}
          </select>
          <FilterError message={errors.staff} />
        </div>
        <div>
          <label className="label" htmlFor="f-action">
            Action
          </label>
          <select id="f-action" name="action" className="input" defaultValue={values.action ?? ""}>
            <option value="">Any</option>
            {[...new Set(actions.map((a) => `${a.split(".")[0]}.*`))].map((family) => (
              <option key={family} value={family}>
                every {family.slice(0, -2)} action ({family})
              </option>
            ))}
            {actions.map((a) => (
              <option key={a} value={a}>
                {auditActionLabel(a)} ({a})
              </option>
            ))}
          </select>
          <FilterError message={errors.action} />
        </div>
        <div className="col-span-2">
          <label className="label" htmlFor="f-customer">
            Customer hash
          </label>
          <input id="f-customer" name="customer" className="input font-mono" defaultValue={values.customer ?? ""} placeholder="64 hex characters" />
          <FilterError message={errors.customer} />
        </div>
        <IsoDateField label="From (UTC)" name="from" defaultValue={values.from ?? ""} error={errors.from} />
        <IsoDateField label="To (UTC, inclusive)" name="to" defaultValue={values.to ?? ""} error={errors.to} />
        <div className="col-span-2 flex gap-2 md:col-span-6">
          <StatusButton pending={filtering} pendingText="Filtering…">
            Filter
          </StatusButton>
          <Link to="/admin/audit" className="btn">
            Clear
          </Link>
        </div>
      </Form>
      <div className="card p-0">
        <TableScroll label="Audit entries">
        <table className="table-basic" aria-label="Audit entries">
          <thead>
            <tr>
              <th>When</th>
              <th>Who</th>
              <th>Action</th>
              <th>Target</th>
              <th>Customer</th>
              <th>Address</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {entries.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time value={e.at} now={now} />
                </td>
                <td>
                  {e.staffEmail ?? <span className="text-slate-600">anonymous</span>}
                  {e.role ? <span className="ml-1 text-xs text-slate-500">({e.role})</span> : null}
                </td>
                <td>
                  {auditActionLabel(e.action)}
                  <div className="font-mono text-xs text-slate-600">{e.action}</div>
                </td>
                <td className="font-mono text-xs">{e.target}</td>
                <td className="whitespace-nowrap">
                  {e.customerHash ? (
                    <span className="inline-flex items-center gap-1">
                      <Link className="link font-mono text-xs" to={`/customers/${e.customerHash}`} title={e.customerHash} aria-label={`Customer ${e.customerHash}`}>
                        {e.customerHash.slice(0, 10)}…
                      </Link>
                      <CopyButton value={e.customerHash} label="Copy" />
                    </span>
                  ) : null}
                </td>
                <td className="font-mono text-xs">{e.clientAddress}</td>
                <td className="min-w-[14rem] max-w-md text-xs">
                  {e.details.length ? (
                    <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-2 gap-y-0.5">
                      {e.details.map((d) => (
                        <div key={d.key} className="contents">
                          <dt className="text-slate-600">{d.label}</dt>
                          <dd className="break-words [overflow-wrap:anywhere]">{d.value}</dd>
                        </div>
                      ))}
                    </dl>
                  ) : null}
                </td>
              </tr>
            ))}
            <EmptyRow show={entries.length === 0} colSpan={7}>
              No entries match these filters.
            </EmptyRow>
          </tbody>
        </table>
        </TableScroll>
      </div>
      <Pager previous={firstPage} next={nextPage} />
    </div>
  );
}
