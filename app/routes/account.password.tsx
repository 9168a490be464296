import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { pageMeta } from "~/ui/meta";
import { Form, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { safeRedirectPath } from "~/staff/auth.server";
import { changePasswordForm, parseForm, type FieldErrors } from "~/staff/forms";
import { readForm, requirePermission } from "~/staff/guards.server";
import { CHANGE_PASSWORD_PATH } from "~/staff/paths";
import { changeOwnPassword, StaffRuleError } from "~/staff/staff-users.server";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { Field, FormError } from "~/ui/field";

export const meta: MetaFunction = (args) => pageMeta(args, "Change your password");

// Open to everyone signed in, including (and above all) someone holding a one-time password.
const OPEN_DURING_CHANGE = { pendingPasswordChange: "allow" } as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:console", OPEN_DURING_CHANGE);
  return { email: staff.email, required: staff.mustChangePassword };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "view:console", OPEN_DURING_CHANGE);
  const parsed = parseForm(changePasswordForm, await readForm(request));
  if (!parsed.ok) return data({ message: "Check the highlighted fields.", fieldErrors: parsed.fieldErrors }, { status: 400 });
  try {
    await changeOwnPassword(context.db, staff, parsed.data, { actor: staff, clientAddress: context.clientAddress, now: context.now() });
  } catch (error) {
    if (!(error instanceof StaffRuleError)) throw error;
    const fieldErrors: FieldErrors = error.field ? { [error.field]: error.message } : {};
    return data({ message: error.message, fieldErrors }, { status: 400 });
  }
  const to = safeRedirectPath(new URL(request.url).searchParams.get("redirectTo"));
  return redirect(to.startsWith(CHANGE_PASSWORD_PATH) ? "/" : to);
}

export default function ChangePassword() {
  const { email, required } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const saving = useIsPending({ formAction: CHANGE_PASSWORD_PATH });
  return (
    <div className="mx-auto mt-8 max-w-sm">
      <h1 className="text-2xl font-bold">{required ? "Choose your password" : "Change your password"}</h1>
      <p className="mt-1 text-sm text-slate-600">
        {required
          ? `You signed in as ${email} with a one-time password. Choose your own before going on; the one-time password stops working.`
          : `For ${email}. Your other sessions are signed out when it changes.`}
      </p>
      <Form method="post" action={`${CHANGE_PASSWORD_PATH}?${params.toString()}`} className="card mt-6 space-y-4" noValidate>
        <FormError message={result?.message} />
        <input type="email" name="username" autoComplete="username" value={email} readOnly hidden />
        <Field label={required ? "One-time password" : "Current password"} name="currentPassword" type="password" autoComplete="current-password" required autoFocus error={result?.fieldErrors.currentPassword} />
        <Field label="New password" name="newPassword" type="password" autoComplete="new-password" required minLength={12} hint="At least 12 characters." error={result?.fieldErrors.newPassword} />
        <Field label="New password, again" name="confirmPassword" type="password" autoComplete="new-password" required error={result?.fieldErrors.confirmPassword} />
        <StatusButton className="btn-primary w-full justify-center" pending={saving} pendingText="Saving…">
          Save password
        </StatusButton>
      </Form>
    </div>
  );
}
