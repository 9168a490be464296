import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData } from "@remix-run/react";
import { getAuthSettings } from "~/staff/auth-settings.server";
import { readForm, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { ROLE_LABELS, ROLES, isRole } from "~/staff/permissions";
import { activeAdmins, PolicyError, updateAuthPolicy } from "~/staff/second-factor.server";
import { FormError, SelectField } from "~/ui/field";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { StatusButton, useIsPending } from "~/ui/status-button";

export const meta: MetaFunction = (args) => pageMeta(args, "Sign-in policy");

export async function loader({ request, context }: LoaderFunctionArgs) {
  await requirePermission(request, context, "manage:security");
  return { settings: getAuthSettings(context.db), admins: activeAdmins(context.db) };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const admin = await requirePermission(request, context, "manage:security");
  const form = await readForm(request);
  requireFreshProof(request, context, admin, form, "Change the sign-in policy");
  const roles = form.getAll("mfaRole");
  const unknown = roles.find((r) => !isRole(r));
  if (unknown !== undefined) return data({ ok: false as const, message: `Unknown role: ${String(unknown).slice(0, 40)}.`, field: "mfaRole" }, { status: 400 });
  const breakGlassRaw = form.get("breakGlassStaffId");
  const breakGlass = typeof breakGlassRaw === "string" && breakGlassRaw !== "" ? Number(breakGlassRaw) : null;
  if (breakGlass !== null && !Number.isSafeInteger(breakGlass)) return data({ ok: false as const, message: "Choose the break-glass account from the list.", field: "breakGlassStaffId" }, { status: 400 });
  try {
    updateAuthPolicy(
      context.db,
      { mfaRequiredRoles: roles.filter(isRole), ssoRequired: form.get("ssoRequired") === "on", breakGlassStaffId: breakGlass },
      { actor: admin, clientAddress: context.clientAddress, now: context.now() },
    );
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    return data({ ok: false as const, message: error.message, field: error.field }, { status: 400 });
  }
  return { ok: true as const, message: "Sign-in policy saved.", field: null };
}

export default function SecurityPolicy() {
  const { settings, admins } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const saving = useIsPending();
  return (
    <div className="max-w-2xl space-y-4">
      <h1 className="text-2xl font-bold">Sign-in policy</h1>
      {result?.ok ? <Notice tone="success">{result.message}</Notice> : <FormError message={result?.field === "breakGlassStaffId" ? undefined : result?.message} />}
      <Form method="post" className="card space-y-4">
        <fieldset>
          <legend className="font-semibold">Roles that must use a second factor</legend>
          <p className="text-sm text-slate-600">Their password accounts need an authenticator app or a passkey before anything else opens. SSO sessions are left to the identity provider.</p>
          <div className="mt-2 space-y-1">
            {ROLES.map((role) => (
              <label key={role} className="flex items-center gap-2">
                <input type="checkbox" name="mfaRole" value={role} defaultChecked={settings.mfaRequiredRoles.includes(role)} />
                {ROLE_LABELS[role]}
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset className="space-y-2">
          <legend className="font-semibold">Single sign-on</legend>
          <label className="flex items-center gap-2">
            <input type="checkbox" name="ssoRequired" defaultChecked={settings.ssoRequired} />
            Require SSO for everyone
          </label>
          <SelectField
            label="Break-glass administrator"
            name="breakGlassStaffId"
            defaultValue={settings.breakGlassStaffId ?? ""}
            hint="The one account that may still sign in with its password (and second factor) when SSO is required."
            error={result && !result.ok && result.field === "breakGlassStaffId" ? result.message : undefined}
          >
            <option value="">None</option>
            {admins.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.email})
              </option>
            ))}
          </SelectField>
        </fieldset>
        <StatusButton pending={saving} pendingText="Saving…">
          Save policy
        </StatusButton>
      </Form>
    </div>
  );
}
