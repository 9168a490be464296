import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { redirectWithFlash } from "~/lib/flash.server";
import { Form, Link, useActionData, useLoaderData } from "@remix-run/react";
import { useState } from "react";
import { newStaffForm, parseForm } from "~/staff/forms";
import { readForm, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { createStaff, StaffRuleError } from "~/staff/staff-users.server";
import { Field, FormError } from "~/ui/field";
import { RoleSelect } from "~/ui/role-select";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "New staff account");

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "manage:staff");
  return { sso: Boolean(context.config.oidc) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requirePermission(request, context, "manage:staff");
  const submitted = await readForm(request);
  requireFreshProof(request, context, admin, submitted, "Create a staff account");
  const parsed = parseForm(newStaffForm, submitted);
  if (!parsed.ok) return data({ fieldErrors: parsed.fieldErrors, message: "Check the highlighted fields." }, { status: 400 });
  try {
    const id = await createStaff(context.db, parsed.data, {
      actor: admin,
      clientAddress: context.clientAddress,
      now: context.now(),
    });
    return redirectWithFlash(request, context, `/admin/staff/${id}`, {
      tone: "success",
      message: parsed.data.signIn === "sso" ? "Account created. They sign in with SSO; their account is linked at their first sign-in." : "Account created. They can sign in now with the password you set.",
    });
  } catch (error) {
    if (!(error instanceof StaffRuleError)) throw error;
    return data({ fieldErrors: error.field ? { [error.field]: error.message } : {}, message: error.message }, { status: 409 });
  }
}

export default function NewStaff() {
  const result = useActionData<typeof action>();
  const { sso } = useLoaderData<typeof loader>();
  const [signIn, setSignIn] = useState<"password" | "sso">("password");
  const creating = useIsPending();
  return (
    <div className="max-w-lg space-y-4">
      <p className="text-sm">
        <Link to="/admin/staff" className="link">
          ← Staff
        </Link>
      </p>
      <h1 className="text-2xl font-bold">New staff account</h1>
      <Form method="post" className="card space-y-4" noValidate>
        <FormError message={result?.message} />
        <Field label="Name" name="name" required maxLength={100} error={result?.fieldErrors.name} />
        <Field label="Email" name="email" type="email" required error={result?.fieldErrors.email} />
        <RoleSelect error={result?.fieldErrors.role} />
        {sso ? (
          <fieldset className="space-y-1">
            <legend className="label">How they sign in</legend>
            <label className="flex items-center gap-2 text-sm">
              <input type="radio" name="signIn" value="password" checked={signIn === "password"} onChange={() => setSignIn("password")} /> With a password you set now
            </label>
            <label className="flex items-center gap-2 text-sm">
              <input type="radio" name="signIn" value="sso" checked={signIn === "sso"} onChange={() => setSignIn("sso")} /> With SSO only: no password, the identity provider answers for them
            </label>
          </fieldset>
        ) : null}
        {signIn === "sso" ? null : <Field
          label="Initial password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          error={result?.fieldErrors.password}
          hint="12 to 128 characters. Give it to the person over a channel you trust; they can be reset any time."
        />}
        <StatusButton pending={creating} pendingText="Creating…">
          Create account
        </StatusButton>
      </Form>
    </div>
  );
}
