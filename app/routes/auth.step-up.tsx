import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, Link, useActionData, useLoaderData, useSearchParams } from "@remix-run/react";
import { useEffect, useRef } from "react";
import { safeRedirectPath } from "~/staff/auth.server";
import { readForm, requireStaff } from "~/staff/guards.server";
import { STEP_UP_PATH } from "~/staff/paths";
import { proofKindOf, provePassword, proveSecondFactor, waitingAction } from "~/staff/step-up.server";
import { PasskeyRefused } from "~/staff/passkeys.server";
import { ProofChallenge } from "~/staff/proof-challenge";
import { PASSKEY_OPTIONS_INTENT, passkeyProofOptions, proofOptions } from "~/staff/second-factor.server";
import { ssoStepUpHref } from "~/staff/paths";
import { STEP_UP_GRANT_FIELD } from "~/staff/step-up";
import { Field, FormError } from "~/ui/field";
import { pageMeta } from "~/ui/meta";
import { Notice } from "~/ui/notice";
import { StatusButton, useIsPending } from "~/ui/status-button";

export const meta: MetaFunction = (args) => pageMeta(args, "Confirm it's you");

export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};

type Replay = { path: string; fields: [string, string][]; grant: string; label: string };

function target(request: Request) {
  const url = new URL(request.url);
  return { actionId: url.searchParams.get("action"), redirectTo: safeRedirectPath(url.searchParams.get("redirectTo")) };
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await requireStaff(request, context);
  const { actionId, redirectTo } = target(request);
  const waiting = waitingAction(context, staff, actionId);
  // Proved since the action was asked for (an identity provider's re-authentication comes back here): carry on.
  const proof = proofKindOf(context, staff);
  const replay: Replay | null = waiting && staff.verifiedAt > waiting.askedAt ? { path: waiting.path, fields: waiting.fields, grant: waiting.id, label: waiting.label } : null;
  return {
    email: staff.email,
    label: waiting?.label ?? null,
    expired: Boolean(actionId) && !waiting,
    proof,
    factors: proof === "factor" ? proofOptions(context.db, staff.id) : null,
    stepUpMinutes: Math.round(context.config.stepUpMs / 60_000),
    replay,
    redirectTo: actionId ? null : redirectTo,
  };
}

export async function action({ request, context }: ActionFunctionArgs) {
  const staff = await requireStaff(request, context);
  const form = await readForm(request);
  const { actionId, redirectTo } = target(request);
  const waiting = waitingAction(context, staff, actionId);
  if (actionId && !waiting) {
    return data({ message: "This request has expired or was already done. Go back and do it again.", replay: null }, { status: 410 });
  }
  const label = waiting?.label ?? "Confirm identity";
  const proof = proofKindOf(context, staff);
  if (proof === "sso") {
    return data({ message: "Your account confirms who you are at your identity provider: use the button to sign in there again.", replay: null }, { status: 400 });
  }
  if (proof === "factor" && form.get("intent") === PASSKEY_OPTIONS_INTENT) {
    try {
      return await passkeyProofOptions(context, request, staff.id, "webauthn_step_up");
    } catch (error) {
      if (!(error instanceof PasskeyRefused)) throw error;
      return data({ message: error.message, replay: null }, { status: error.status });
    }
  }
  const verdict = proof === "factor" ? await proveSecondFactor(context, staff, form, label) : await provePassword(context, staff, String(form.get("password") ?? ""), label);
  if (!verdict.ok) {
    return data({ message: verdict.message, replay: null }, { status: verdict.status, headers: verdict.retryAfterSeconds ? { "Retry-After": String(verdict.retryAfterSeconds) } : undefined });
  }
  if (!waiting) return redirect(redirectTo.startsWith(STEP_UP_PATH) ? "/" : redirectTo);
  const replay: Replay = { path: waiting.path, fields: waiting.fields, grant: waiting.id, label: waiting.label };
  return { message: null, replay };
}

/** Sends the waiting action's form again, with the grant, as soon as it renders; a button does it without scripts. */
function ReplayForm({ replay }: { replay: Replay }) {
  const form = useRef<HTMLFormElement>(null);
  const sent = useRef(false);
  useEffect(() => {
    if (sent.current) return;
    sent.current = true;
    form.current?.requestSubmit();
  }, []);
  const pending = useIsPending({ formAction: replay.path });
  return (
    <Form method="post" action={replay.path} ref={form} className="card mt-6 space-y-3" data-testid="step-up-continue">
      {replay.fields.map(([name, value], i) => (
        <input key={`${name}-${i}`} type="hidden" name={name} value={value} />
      ))}
      <input type="hidden" name={STEP_UP_GRANT_FIELD} value={replay.grant} />
      <Notice tone="success" role="status">
        Confirmed. Carrying on: {replay.label}.
      </Notice>
      <StatusButton pending={pending} pendingText="Continuing…" className="btn-primary w-full justify-center">
        Continue: {replay.label}
      </StatusButton>
    </Form>
  );
}

export default function StepUp() {
  const d = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const pending = useIsPending({ formAction: STEP_UP_PATH });
  // The passkey challenge's answer goes to the component's own fetcher; here only refusals and the replay matter.
  const answer = result && "replay" in result ? result : undefined;
  const replay = answer?.replay ?? d.replay;
  const message = answer?.message ?? null;
  return (
    <div className="mx-auto mt-8 max-w-sm">
      <h1 className="text-2xl font-bold">Confirm it&apos;s you</h1>
      {d.expired ? (
        <Notice tone="warning" className="mt-4">
          This request has expired (a waiting action is kept for ten minutes) or was already done. Go back and do it again.
        </Notice>
      ) : (
        <p className="mt-1 text-sm text-slate-600">
          {d.label ? (
            <>
              <strong className="font-semibold text-slate-800">{d.label}</strong> is a sensitive action.{" "}
            </>
          ) : null}
          {d.stepUpMinutes > 0
            ? `It needs a proof of identity from the last ${d.stepUpMinutes} minute${d.stepUpMinutes === 1 ? "" : "s"}.`
            : "It needs a fresh proof of identity each time."}{" "}
          Signed in as {d.email}.
        </p>
      )}
      {replay ? (
        <ReplayForm replay={replay} />
      ) : d.expired ? (
        <p className="mt-4 text-sm">
          <Link to="/" className="link">
            Back to the console
          </Link>
        </p>
      ) : (
        d.proof === "sso" ? (
          <div className="card mt-6 space-y-3">
            <FormError message={message ?? undefined} />
            <p className="text-sm">You signed in through your identity provider: sign in there again to confirm it is you.</p>
            <a href={ssoStepUpHref(`${STEP_UP_PATH}?${params.toString()}`)} className="btn-primary w-full justify-center">
              Re-authenticate with SSO
            </a>
          </div>
        ) : d.proof === "factor" && d.factors ? (
          <div className="card mt-6">
            <ProofChallenge action={`${STEP_UP_PATH}?${params.toString()}`} options={d.factors} message={message} submitLabel="Confirm" />
          </div>
        ) : (
        <Form method="post" action={`${STEP_UP_PATH}?${params.toString()}`} className="card mt-6 space-y-4" noValidate>
          <FormError message={message ?? undefined} />
          <input type="email" name="username" autoComplete="username" value={d.email} readOnly hidden />
          <Field label="Password" name="password" type="password" autoComplete="current-password" required autoFocus />
          <StatusButton pending={pending} pendingText="Checking…" className="btn-primary w-full justify-center">
            Confirm
          </StatusButton>
        </Form>
        )
      )}
    </div>
  );
}
