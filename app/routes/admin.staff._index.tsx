import type { LoaderFunctionArgs, MetaFunction } from "@remix-run/node";
import { Link, useLoaderData } from "@remix-run/react";
import { requirePermission } from "~/staff/guards.server";
import { ROLE_LABELS, isRole } from "~/staff/permissions";
import { listStaff } from "~/staff/staff-users.server";
import { Time } from "~/ui/time";
import { TableScroll } from "~/ui/table-scroll";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Staff");

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "manage:staff");
  return {
    staff: listStaff(context.db).map((s) => ({
      id: s.id,
      email: s.email,
      name: s.name,
      role: s.role,
      disabled: Boolean(s.disabledAt),
      oneTimePassword: s.mustChangePassword,
      lastLoginAt: s.lastLoginAt?.getTime() ?? null,
      createdAt: s.createdAt.getTime(),
    })),
    now: context.now().getTime(),
  };
}

export default function StaffList() {
  const { staff, now } = useLoaderData<typeof loader>();
  return (
    <div className="space-y-4">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-bold">Staff</h1>
        <Link to="/admin/staff/new" className="btn-primary">
          New staff account
        </Link>
      </div>
      <div className="card p-0">
        <TableScroll label="Staff accounts">
        <table className="table-basic" aria-label="Staff accounts">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
              <th>Status</th>
              <th>Last sign-in</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {staff.map((s) => (
              <tr key={s.id} className={s.disabled ? "text-slate-600" : undefined}>
                <td>
                  <Link className="link" to={`/admin/staff/${s.id}`}>
                    {s.name}
                  </Link>
                </td>
                <td>{s.email}</td>
                <td>{isRole(s.role) ? ROLE_LABELS[s.role] : s.role}</td>
                <td>
                  {s.disabled ? (
                    <span className="rounded bg-slate-200 px-1.5 py-0.5 text-xs text-slate-700">Disabled</span>
                  ) : (
                    <span className="rounded bg-emerald-100 px-1.5 py-0.5 text-xs text-emerald-800">Active</span>
                  )}
                  {s.oneTimePassword ? (
                    <span className="ml-1 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900" title="Signed in with a one-time password at most; must choose their own at the next sign-in">
                      One-time password
                    </span>
                  ) : null}
                </td>
                <td>
                  <Time value={s.lastLoginAt} now={now} />
                </td>
                <td>
                  <Time value={s.createdAt} now={now} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableScroll>
      </div>
    </div>
  );
}
