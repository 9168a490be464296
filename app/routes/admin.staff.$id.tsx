import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { z } from "zod";
import { listAudit } from "~/staff/audit.server";
import { newPasswordField, parseForm, roleField, type FieldErrors } from "~/staff/forms";
import { readForm, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { ROLE_LABELS, isRole } from "~/staff/permissions";
import {
  changeStaffRole,
  getStaff,
  resetStaffPassword,
  setStaffDisabled,
  StaffRuleError,
} from "~/staff/staff-users.server";
import { activeSessionsOf, endAllSessionsOfStaff } from "~/staff/staff-sessions.server";
import { Field, FormError } from "~/ui/field";
import { RoleSelect } from "~/ui/role-select";
import { Time } from "~/ui/time";
import { pageMeta } from "~/ui/meta";
import { StatusButton, useIsPending } from "~/ui/status-button";
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
      signsInWith: [member.hasPassword ? "a password" : null, member.ssoLinked ? "SSO (linked)" : member.hasPassword ? null : "SSO (links at first sign-in)"].filter(Boolean).join(" or "),
    },
    factors: proofOptions(context.db, id),
    activity: entries.map((e) => ({ id: e.id, at: e.at.getTime(), action: e.action })),
    activeSessions: activeSessionsOf(context.db, { id }, context.now(), context.config.session).length,
    now: context.now().getTime(),
  };
}

const intents = z.discriminatedUnion("intent", [
  z.object({ intent: z.literal("role"), role: roleField }),
  z.object({ intent: z.literal("disable") }),
  z.object({ intent: z.literal("enable") }),
  z.object({ intent: z.literal("password"), password: newPasswordField }),
  z.object({ intent: z.literal("end-sessions") }),
  z.object({ intent: z.literal("reset-factors") }),
]);

const DONE: Record<z.infer<typeof intents>["intent"], string> = {
  role: "Role changed. It applies to their very next request.",
  disable: "Account disabled and signed out everywhere.",
  enable: "Account enabled. They can sign in again.",
  password: "Password reset. Every session of this account has been ended.",
  "end-sessions": "Every session of this account has been ended. Their browsers are told so at the sign-in page.",
  "reset-factors": "Second factors removed. If their role requires one, they set up a new one at their next sign-in.",
};

// Every change to a staff account is a sensitive action: each asks for a fresh proof of identity, named as below.
const STEP_UP_LABEL: Record<string, string> = {
  role: "Change a staff member's role",
  disable: "Disable a staff account",
  enable: "Enable a staff account",
  password: "Reset a staff member's password",
  "end-sessions": "End every session of a staff account",
  "reset-factors": "Reset a staff member's second factors",
};

export async function action({ request, context, params }: ActionFunctionArgs) {
  const admin = await requirePermission(request, context, "manage:staff");
  const id = staffId(params);
  const submitted = await readForm(request);
  requireFreshProof(request, context, admin, submitted, STEP_UP_LABEL[String(submitted.get("intent"))] ?? "Change a staff account");
  const parsed = parseForm(intents, submitted);
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
    else if (form.intent === "end-sessions") endAllSessionsOfStaff(context.db, id, ctx);
    else setStaffDisabled(context.db, id, form.intent === "disable", ctx);
    return { ok: true as const, message: DONE[form.intent], fieldErrors: {} as FieldErrors };
  } catch (error) {
    if (!(error instanceof StaffRuleError)) throw error;
    return data({ ok: false as const, fieldErrors: {} as FieldErrors, message: error.message }, { status: 409 });
  }
}

export default function StaffMember() {
  const { member, factors, activity, activeSessions, now } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const changingRole = useIsPending({ match: { intent: "role" } });
  const endingSessions = useIsPending({ match: { intent: "end-sessions" } });
  const resettingFactors = useIsPending({ match: { intent: "reset-factors" } });
  const enabling = useIsPending({ match: { intent: "enable" } });
  const disabling = useIsPending({ match: { intent: "disable" } });
  const resetting = useIsPending({ match: { intent: "password" } });
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
        <p className="text-sm text-slate-600" data-testid="signs-in-with">
          Signs in with {member.signsInWith}
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
            <StatusButton className="btn" pending={changingRole} pendingText="Saving…">
              Change role
            </StatusButton>
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
            <StatusButton className={member.disabledAt ? "btn" : "btn-danger"} pending={enabling || disabling} pendingText={enabling ? "Re-enabling…" : "Disabling…"}>
              {member.disabledAt ? "Re-enable account" : "Disable account"}
            </StatusButton>
          </Form>
          <Form method="post" className="flex flex-wrap items-center gap-2 text-sm">
            <input type="hidden" name="intent" value="end-sessions" />
            <span data-testid="active-sessions">Signed in now: {activeSessions === 1 ? "1 session" : `${activeSessions} sessions`}</span>
            <StatusButton className="btn" pending={endingSessions} pendingText="Ending…" disabled={activeSessions === 0}>
              End all sessions
            </StatusButton>
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
            <StatusButton className="btn" pending={resetting} pendingText="Resetting…">
              Reset password
            </StatusButton>
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
            <StatusButton className="btn-danger" pending={resettingFactors} pendingText="Resetting…" disabled={!factors.totp && factors.passkeys === 0}>
              Reset second factors
            </StatusButton>
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
