import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useNavigation } from "@remix-run/react";
import { z } from "zod";
import { listAudit } from "~/staff/audit.server";
import { newPasswordField, parseForm, roleField, type FieldErrors } from "~/staff/forms";
import { readForm, requirePermission } from "~/staff/guards.server";
import { ROLE_LABELS, isRole } from "~/staff/permissions";
import {
  changeStaffRole,
  getStaff,
  resetStaffPassword,
  setStaffDisabled,
  StaffRuleError,
} from "~/staff/staff-users.server";
import { Field, FormError } from "~/ui/field";
import { RoleSelect } from "~/ui/role-select";
import { Time } from "~/ui/time";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { plural } from "~/lib/plural";
import { proofOptions, resetStaffFactors } from "~/staff/second-factor.server";

export const meta: MetaFunction<typeof loader> = (args) => pageMeta(args, args.data?.member.name ?? "Staff");

function staffId(params: { id?: string }): number {
  const id = Number(params.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new Response("No staff account has that id.", { status: 404 });
  return id;
}

export async function loader({ request, context, params }: LoaderFunctionArgs) {
  await requirePermission(request, context, "manage:staff");
  const id = staffId(params);
  const member = getStaff(context.db, id);
  if (!member) throw new Response("No staff account has that id.", { status: 404 });
  const { entries } = listAudit(context.db, { staffUserId: id }, { limit: 15 });
  return {
    member: {
      id: member.id,
      email: member.email,
      name: member.name,
      role: member.role,
      disabledAt: member.disabledAt?.getTime() ?? null,
      lastLoginAt: member.lastLoginAt?.getTime() ?? null,
      createdAt: member.createdAt.getTime(),
      passwordChangedAt: member.passwordChangedAt.getTime(),
    },
    factors: proofOptions(context.db, id),
    activity: entries.map((e) => ({ id: e.id, at: e.at.getTime(), action: e.action })),
    now: context.now().getTime(),
  };
}

const intents = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("role"), role: roleField }),
  z.object({ intent: z.literal("disable") }),
  z.object({ intent: z.literal("enable") }),
  z.object({ intent: z.literal("password"), password: newPasswordField }),
  z.object({ intent: z.literal("reset-factors") }),
]);

const DONE: Record<z.infer<typeof intents>["intent"], string> = {
  role: "Role changed. It applies to their very next request.",
  disable: "Account disabled and signed out everywhere.",
  enable: "Account enabled. They can sign in again.",
  password: "Password reset. Every session of this account has been ended.",
  "reset-factors": "Second factors removed. If their role requires one, they set up a new one at their next sign-in.",
};

export async function action({ request, context, params }: ActionFunctionArgs) {
  const admin = await requirePermission(request, context, "manage:staff");
  const id = staffId(params);
  const parsed = parseForm(intents, await readForm(request));
  if (!parsed.ok) {
    return data({ ok: false as const, fieldErrors: parsed.fieldErrors, message: "Check the highlighted field." }, { status: 400 });
  }
  const ctx = { actor: admin, clientAddress: context.clientAddress, now: context.now() };
  const form = parsed.data;
  try {
    if (!getStaff(context.db, id)) throw new Response("No staff account has that id.", { status: 404 });
    if (form.intent === "role") changeStaffRole(context.db, id, form.role, ctx);
    else if (form.intent === "reset-factors") resetStaffFactors(context.db, id, ctx);
    else if (form.intent === "password") await resetStaffPassword(context.db, id, form.password, ctx);
    else setStaffDisabled(context.db, id, form.intent === "disable", ctx);
    return { ok: true as const, message: DONE[form.intent], fieldErrors: {} as FieldErrors };
  } catch (error) {
    if (!(error instanceof StaffRuleError)) throw error;
    return data({ ok: false as const, fieldErrors: {} as FieldErrors, message: error.message }, { status: 409 });
  }
}

export default function StaffMember() {
  const { member, factors, activity, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = (intent: string) => navigation.state === "submitting" && navigation.formData?.get("intent") === intent;
  const role = isRole(member.role) ? member.role : undefined;
  return (
    <div className="space-y-4">
      <p className="text-sm">
        <Link to="/admin/staff" className="link">
          ← Staff
        </Link>
      </p>
      <div>
        <h1 className="text-2xl font-bold">{member.name}</h1>
        <p className="text-slate-600">
          {member.email} · {role ? ROLE_LABELS[role] : member.role} ·{" "}
          {member.disabledAt ? <strong className="text-red-700">Disabled</strong> : "Active"}
        </p>
      </div>
      {result?.ok ? (
        <Notice tone="success">
          {result.message}
        </Notice>
      ) : (
        <FormError message={result?.message} />
      )}
      <div className="grid gap-4 md:grid-cols-2">
        <section className="card space-y-3">
          <h2 className="font-semibold">Role</h2>
          <Form method="post" className="flex items-end gap-2">
            <input type="hidden" name="intent" value="role" />
            <div className="flex-1">
              <RoleSelect key={member.role} defaultValue={role} error={result?.fieldErrors.role} />
            </div>
            <button type="submit" className="btn" disabled={busy("role")}>
              {busy("role") ? "Saving…" : "Change role"}
            </button>
          </Form>
        </section>
        <section className="card space-y-3">
          <h2 className="font-semibold">Access</h2>
          <p className="text-sm text-slate-600">
            Last sign-in: <Time value={member.lastLoginAt} now={now} />
            <br />
            Created: <Time value={member.createdAt} now={now} />
            <br />
            Password set: <Time value={member.passwordChangedAt} now={now} />
          </p>
          <Form
            method="post"
            onSubmit={(event) => {
              if (!member.disabledAt && !confirm(`Disable ${member.email}? They are signed out at once.`)) event.preventDefault();
            }}
          >
            <input type="hidden" name="intent" value={member.disabledAt ? "enable" : "disable"} />
            <button type="submit" className={member.disabledAt ? "btn" : "btn-danger"} disabled={busy("enable") || busy("disable")}>
              {member.disabledAt ? "Re-enable account" : "Disable account"}
            </button>
          </Form>
        </section>
        <section className="card space-y-3">
          <h2 className="font-semibold">Reset password</h2>
          <Form method="post" className="space-y-3" noValidate>
            <input type="hidden" name="intent" value="password" />
            <Field
              label="New password"
              name="password"
              type="password"
              autoComplete="new-password"
              error={result?.fieldErrors.password}
              hint="12 to 128 characters. Every session of this account ends."
            />
            <button type="submit" className="btn" disabled={busy("password")}>
              {busy("password") ? "Resetting…" : "Reset password"}
            </button>
          </Form>
        </section>
        <section className="card space-y-3">
          <h2 className="font-semibold">Second factors</h2>
          <p className="text-sm text-slate-600" data-testid="member-factors">
            {factors.totp ? `Authenticator app, ${plural(factors.recoveryCodes, "recovery code")} left` : "No authenticator app"} · {plural(factors.passkeys, "passkey")}
          </p>
          <Form
            method="post"
            onSubmit={(event) => {
              if (!confirm(`Remove every second factor of ${member.email}?`)) event.preventDefault();
            }}
          >
            <input type="hidden" name="intent" value="reset-factors" />
            <button type="submit" className="btn-danger" disabled={busy("reset-factors") || (!factors.totp && factors.passkeys === 0)}>
              Reset second factors
            </button>
          </Form>
        </section>
        <section className="card">
          <div className="flex items-center justify-between">
            <h2 className="font-semibold">Recent activity</h2>
            <Link className="text-sm link" to={`/admin/audit?staff=${member.id}`}>
              Full audit log
            </Link>
          </div>
          <ul className="mt-2 divide-y divide-slate-100 text-sm">
            {activity.map((entry) => (
              <li key={entry.id} className="flex justify-between gap-2 py-1.5">
                <span className="font-mono text-xs">{entry.action}</span>
                <Time value={entry.at} now={now} />
              </li>
            ))}
            {activity.length === 0 ? <li className="py-1.5 text-slate-500">Nothing yet.</li> : null}
          </ul>
        </section>
      </div>
    </div>
  );
}
