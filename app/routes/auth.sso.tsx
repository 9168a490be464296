import { data, redirect, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useActionData, useLoaderData } from "@remix-run/react";
import type { AppContext } from "~/context";
import { assertSameOrigin, readForm, requireStaff } from "~/staff/guards.server";
import { SSO_CALLBACK_PATH } from "~/staff/paths";
import { redirectUriFor, ssoFlowCookie, SsoRefused, startSso, type SsoPurpose } from "~/staff/sso.server";
import { pageMeta } from "~/ui/meta";
import { SsoRefusalPage } from "~/ui/sso-refusal";

export const meta: MetaFunction = (args) => pageMeta(args, "Single sign-on");

// POST /auth/sso (the sign-in page's "Sign in with SSO"; redirectTo in the query or the form) sends the browser to
// the identity provider. Re-authentication before a sensitive action, for a signed-in SSO account, is
// /auth/sso?purpose=step-up&redirectTo=<path>, as a link (GET) or a form (POST): the provider is asked for a fresh
// login, and the callback marks the session verified and goes on to redirectTo.

async function start(request: Request, context: AppContext, purpose: SsoPurpose, redirectTo: unknown) {
  const staff = purpose === "step-up" ? await requireStaff(request, context) : null;
  try {
    const { authorizationUrl, flowId } = await startSso(context, {
      purpose,
      redirectUri: redirectUriFor(request, context.config.publicOrigins, SSO_CALLBACK_PATH),
      redirectTo: typeof redirectTo === "string" ? redirectTo : "/",
      staff,
    });
    return redirect(authorizationUrl.href, { headers: { "Set-Cookie": await ssoFlowCookie(context.config.sessionSecret).serialize(request, flowId) } });
  } catch (error) {
    if (!(error instanceof SsoRefused)) throw error;
    return data({ refusal: { status: error.status, title: error.title, message: error.message } }, { status: error.status });
  }
}

export async function loader({ request, context }: LoaderFunctionArgs) {
  const url = new URL(request.url);
  const redirectTo = url.searchParams.get("redirectTo");
  if (url.searchParams.get("purpose") === "step-up") return start(request, context, "step-up", redirectTo);
  // Signing in starts from the sign-in page's button (a POST); a plain visit is sent there.
  throw redirect(redirectTo ? `/login?${new URLSearchParams({ redirectTo })}` : "/login");
}

export async function action({ request, context }: ActionFunctionArgs) {
  assertSameOrigin(request, context);
  const form = await readForm(request);
  const url = new URL(request.url);
  const purpose = (form.get("purpose") ?? url.searchParams.get("purpose")) === "step-up" ? "step-up" : "sign-in";
  return start(request, context, purpose, form.get("redirectTo") ?? url.searchParams.get("redirectTo"));
}

export default function SsoStart() {
  const loaded = useLoaderData<typeof loader>();
  const acted = useActionData<typeof action>();
  const refusal = acted?.refusal ?? loaded?.refusal;
  return refusal ? <SsoRefusalPage refusal={refusal} /> : null;
}
