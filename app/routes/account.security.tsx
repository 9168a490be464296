import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { useState } from "react";
import { safeRedirectPath } from "~/staff/auth.server";
import { securityAction, securityOverview, type SecurityResult } from "~/staff/enrollment.server";
import { readForm, requirePermission } from "~/staff/guards.server";
import { requireFreshProof } from "~/staff/step-up.server";
import { SECURITY_PATH } from "~/staff/paths";
import { usePasskeyCeremony } from "~/staff/proof-challenge";
import { Field, FormError } from "~/ui/field";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { StatusButton, useIsPending } from "~/ui/status-button";
import { Time } from "~/ui/time";

export const meta: MetaFunction = (args) => pageMeta(args, "Sign-in security");

// Open to everyone signed in, including (and above all) someone whose role must enroll a second factor.
const OPEN_DURING_ENROLLMENT = { pendingEnrollment: "allow" } as const;

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requirePermission(request, context, "view:console", OPEN_DURING_ENROLLMENT);
  return {
    email: staff.email,
    mustEnroll: staff.mustEnroll,
    sso: staff.method === "sso",
    // Where "Continue" goes once a factor is set up: where the member was going when sent here.
    continueTo: ((to) => (to.startsWith(SECURITY_PATH) ? "/" : to))(safeRedirectPath(new URL(request.url).searchParams.get("redirectTo"))),
    now: context.now(),
    ...(await securityOverview(context.db, context.config.tokenEncryptionKey, staff)),
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requirePermission(request, context, "view:console", OPEN_DURING_ENROLLMENT);
  const form = await readForm(request);
  // New recovery codes are shown on the page, and removing a passkey takes away a way in: both need a fresh proof.
  const intent = form.get("intent");
  if (intent === "recovery-regenerate") requireFreshProof(request, context, staff, form, "Make new recovery codes");
  if (intent === "passkey-remove") requireFreshProof(request, context, staff, form, "Remove a passkey");
  const result = await securityAction(context, request, staff, form);
  if ("passkey" in result) return result;
  if (!result.ok) return data(result, { status: result.status });
  return result;
}

export default function Security() {
  const page = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>() as SecurityResult | undefined;
  const [params] = useSearchParams();
  const action = `${SECURITY_PATH}?${params.toString()}`;
  const continueTo = page.continueTo;
  const outcome = result && "ok" in result ? result : undefined;
  const pending = (intent: string) => ({ formAction: action, match: { intent } });
  const starting = useIsPending(pending("totp-start"));
  const confirming = useIsPending(pending("totp-confirm"));
  const removing = useIsPending(pending("totp-remove"));
  const regenerating = useIsPending(pending("recovery-regenerate"));
  const [passkeyName, setPasskeyName] = useState("");
  const registration = usePasskeyCeremony(action, "register", { intent: "passkey-register", name: passkeyName });
  const codeError = outcome && !outcome.ok && outcome.field === "code" ? outcome.message : undefined;
  return (
    <div className="mx-auto max-w-2xl space-y-4">
      <h1 className="text-2xl font-bold">Sign-in security</h1>
      {page.mustEnroll ? (
        <Notice tone="warning" testId="must-enroll">
          Your role must use a second factor. Set up an authenticator app or a passkey to go on; nothing else in the console opens until then.
        </Notice>
      ) : null}
      {page.sso ? <Notice tone="info">You signed in through single sign-on: your identity provider asks for its own factors. These apply when you sign in with a password.</Notice> : null}
      {outcome?.ok ? (
        <Notice tone="success" testId="security-outcome">
          {outcome.message}{" "}
          {outcome.enrolled && !outcome.recoveryCodes ? (
            <Link to={continueTo} className="link">
              Continue
            </Link>
          ) : null}
        </Notice>
      ) : outcome && !codeError ? (
        <FormError message={outcome.message} />
      ) : null}
      {registration.error ? <FormError message={registration.error} /> : null}
      {outcome?.ok && outcome.recoveryCodes ? (
        <section className="card space-y-3" aria-labelledby="codes-heading">
          <h2 id="codes-heading" className="font-semibold">
            Your recovery codes
          </h2>
          <p className="text-sm text-slate-600">Each works once, in place of a code from the app, if you lose your phone. Keep them somewhere safe: they are not shown again.</p>
          <ul className="grid grid-cols-2 gap-1 font-mono text-sm" data-testid="recovery-codes">
            {outcome.recoveryCodes.map((code) => (
              <li key={code}>{code}</li>
            ))}
          </ul>
          <Link to={continueTo} className="btn-primary">
            I have saved them, continue
          </Link>
        </section>
      ) : null}
      <section className="card space-y-3" aria-labelledby="totp-heading">
        <h2 id="totp-heading" className="font-semibold">
          Authenticator app
        </h2>
        {page.totp.status === "none" ? (
          <>
            <p className="text-sm text-slate-600">Codes from an app such as 1Password, Google Authenticator or Authy.</p>
            <Form method="post" action={action}>
              <input type="hidden" name="intent" value="totp-start" />
              <StatusButton pending={starting} pendingText="Starting…">
                Set up an authenticator app
              </StatusButton>
            </Form>
          </>
        ) : page.totp.status === "pending" ? (
          <>
            <p className="text-sm">Scan this code with your authenticator app, or type the key by hand.</p>
            <img src={page.totp.qr} alt="QR code of the authenticator app setup" width={200} height={200} />
            <p className="text-sm">
              Key: <code data-testid="totp-secret">{page.totp.secret}</code>
            </p>
            <Form method="post" action={action} className="space-y-3" noValidate>
              <input type="hidden" name="intent" value="totp-confirm" />
              <Field label="Code from the app" name="code" autoComplete="one-time-code" inputMode="numeric" error={codeError} hint="Six digits; it changes every 30 seconds." />
              <StatusButton pending={confirming} pendingText="Checking…">
                Confirm
              </StatusButton>
            </Form>
          </>
        ) : (
          <>
            <p className="text-sm">
              Set up <Time value={page.totp.confirmedAt} now={page.now} />. Recovery codes left: {page.recoveryCodesLeft}.
            </p>
            <Form method="post" action={action}>
              <input type="hidden" name="intent" value="recovery-regenerate" />
              <StatusButton pending={regenerating} pendingText="Making codes…" className="btn">
                Make new recovery codes
              </StatusButton>
            </Form>
            <Form method="post" action={action} className="space-y-3" noValidate>
              <input type="hidden" name="intent" value="totp-remove" />
              <Field label="Current code, to remove the app" name="code" autoComplete="one-time-code" inputMode="numeric" error={codeError} />
              <StatusButton pending={removing} pendingText="Removing…" className="btn-danger">
                Remove authenticator app
              </StatusButton>
            </Form>
          </>
        )}
      </section>
      <section className="card space-y-3" aria-labelledby="passkeys-heading">
        <h2 id="passkeys-heading" className="font-semibold">
          Passkeys
        </h2>
        <p className="text-sm text-slate-600">A passkey works as the second factor, or to sign in without the password.</p>
        {page.passkeys.length > 0 ? (
          <ul className="divide-y divide-slate-100 text-sm" data-testid="passkeys">
            {page.passkeys.map((p) => (
              <li key={p.id} className="flex items-center justify-between gap-2 py-2">
                <span>
                  <strong>{p.name}</strong> · added <Time value={p.createdAt} now={page.now} />
                  {p.lastUsedAt ? (
                    <>
                      {" "}
                      · last used <Time value={p.lastUsedAt} now={page.now} />
                    </>
                  ) : null}
                </span>
                <Form method="post" action={action}>
                  <input type="hidden" name="intent" value="passkey-remove" />
                  <input type="hidden" name="id" value={p.id} />
                  <button type="submit" className="btn-danger" aria-label={`Remove passkey ${p.name}`}>
                    Remove
                  </button>
                </Form>
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-sm">No passkey yet.</p>
        )}
        <div className="space-y-3">
          <Field label="Name of the new passkey" name="passkeyName" value={passkeyName} onChange={(e) => setPasskeyName(e.target.value)} maxLength={60} hint="So you can tell them apart, like “Work laptop”." />
          <StatusButton type="button" pending={registration.busy} pendingText="Waiting for the passkey…" className="btn" onClick={registration.start}>
            Add a passkey
          </StatusButton>
        </div>
      </section>
    </div>
  );
}
