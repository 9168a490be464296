import { data, redirect, type ActionFunctionArgs, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { Form, useActionData, useLoaderData, useNavigation, useSearchParams } from "@remix-run/react";
import { createAuthenticator, LoginRefused, safeRedirectPath, sessionStartHeaders, startStaffSession } from "~/staff/auth.server";
import { readDeviceId } from "~/staff/devices.server";
import { assertSameOrigin, getCurrentStaff, readForm, readSessionId } from "~/staff/guards.server";
import { sessionEndedBy } from "~/staff/sessions.server";
import { SESSION_ENDED_NOTICES } from "~/staff/session-labels";
import { getAuthSettings } from "~/staff/auth-settings.server";
import { SSO_START_PATH } from "~/staff/paths";
import { hasSecondFactor } from "~/staff/second-factor.server";
import { isPasskeySignIn, passkeySignInAction, redirectToSecondFactor } from "~/staff/second-factor-flow.server";
import { PasskeySignInButton } from "~/staff/proof-challenge";
import { Notice } from "~/ui/notice";
import { Field, FormError } from "~/ui/field";
import { pageMeta } from "~/ui/meta";

export const meta: MetaFunction = (args) => pageMeta(args, "Sign in");

// A document answer takes its headers from here, not from the action's: the 429's wait has to be passed on.
export const headers: HeadersFunction = ({ actionHeaders }) => {
  const retryAfter = actionHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};

// Public by nature. A signed-in visitor is sent on to where they were going.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const staff = await getCurrentStaff(request, context);
  if (staff) throw redirect(safeRedirectPath(new URL(request.url).searchParams.get("redirectTo")));
  // The browser still holds the cookie of a session an administrator ended: say so, rather than a plain sign-in page.
  // Only that browser can show it, so it tells nobody else whether the account exists.
  const sessionId = await readSessionId(request, context);
  const endedBy = sessionId ? sessionEndedBy(context.db, sessionId) : null;
  // With single sign-on configured, the page offers it (and says when it is required of everyone).
  return context.config.oidc ? { endedBy, sso: { required: getAuthSettings(context.db).ssoRequired } } : { endedBy };
}

export async function action({ request, context }: ActionFunctionArgs) {
  assertSameOrigin(request, context);
  // Read once here so that a body that is not a form is a 415 and a malformed one a 400; the strategy reads its own copy.
  const form = await readForm(request.clone());
  const redirectTo = safeRedirectPath(new URL(request.url).searchParams.get("redirectTo"));
  if (isPasskeySignIn(form)) return passkeySignInAction(context, request, form, redirectTo);
  try {
    const user = await createAuthenticator(context).authenticate("form", request);
    // An account with a second factor gets no session for its password alone.
    if (hasSecondFactor(context.db, user.id)) return redirectToSecondFactor(context, request, user, redirectTo);
    const started = startStaffSession(context, user, {
      userAgent: request.headers.get("User-Agent") ?? "",
      method: "password",
      deviceId: await readDeviceId(request, context.config),
    });
    return redirect(redirectTo, { headers: await sessionStartHeaders(request, context, started) });
  } catch (error) {
    if (!(error instanceof LoginRefused)) throw error;
    return data(
      { message: error.message, fieldErrors: error.fieldErrors },
      {
        status: error.status,
        headers: error.retryAfterSeconds ? { "Retry-After": String(error.retryAfterSeconds) } : undefined,
      },
    );
  }
}

export default function Login() {
  const actionData = useActionData<typeof action>();
  // The passwordless sign-in answers with its own shape (a passkey challenge, or a message alone).
  const result = actionData && "message" in actionData ? (actionData as { message: string; fieldErrors?: Record<string, string> }) : undefined;
  const loaded = useLoaderData<typeof loader>();
  const { endedBy } = loaded;
  const sso = "sso" in loaded ? loaded.sso : null;
  const navigation = useNavigation();
  const [params] = useSearchParams();
  const submitting = navigation.state === "submitting";
  return (
    <div className="mx-auto mt-12 max-w-sm">
      <h1 className="text-2xl font-bold">Sign in to Linkdesk</h1>
      <p className="mt-1 text-sm text-slate-600">Staff accounts only. Ask an administrator if you need one.</p>
      {endedBy && !result ? (
        <Notice tone="warning" className="mt-4" testId="session-ended">
          {SESSION_ENDED_NOTICES[endedBy]}
        </Notice>
      ) : null}
      {sso ? <SsoSignIn required={sso.required} query={params.toString()} /> : null}
      <Form method="post" action={`/login?${params.toString()}`} className="card mt-6 space-y-4" noValidate>
        <FormError message={result?.fieldErrors ? result.message : undefined} />
        <Field
          label="Email"
          name="email"
          type="email"
          autoComplete="username"
          required
          autoFocus
          error={result?.fieldErrors?.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          error={result?.fieldErrors?.password}
        />
        <button type="submit" className="btn-primary w-full justify-center" disabled={submitting}>
          {submitting ? "Signing in…" : "Sign in"}
        </button>
      </Form>
      <PasskeySignInButton action={`/login?${params.toString()}`} message={result && !result.fieldErrors ? result.message : undefined} />
    </div>
  );
}

/** Single sign-on beside the password form: a plain form POST (the answer is a redirect to the identity provider). */
function SsoSignIn({ required, query }: { required: boolean; query: string }) {
  return (
    <div className="card mt-6 space-y-3">
      {required ? (
        <Notice tone="info" role="note" testId="sso-required">
          Your organisation signs in through single sign-on. The password form below is for the break-glass account only.
        </Notice>
      ) : null}
      <Form method="post" action={`${SSO_START_PATH}?${query}`} reloadDocument>
        <button type="submit" className="btn-primary w-full justify-center">
          Sign in with SSO
        </button>
      </Form>
    </div>
  );
}
