import { data, redirect, type HeadersFunction, type LoaderFunctionArgs, type MetaFunction } from "@remix-run/node";
import { useLoaderData } from "@remix-run/react";
import { sessionStartHeaders, startStaffSession } from "~/staff/auth.server";
import { readDeviceId } from "~/staff/devices.server";
import { getCurrentStaff } from "~/staff/guards.server";
import { finishSso, ssoFlowCookie, SsoRefused } from "~/staff/sso.server";
import { pageMeta } from "~/ui/meta";
import { SsoRefusalPage } from "~/ui/sso-refusal";

export const meta: MetaFunction = (args) => pageMeta(args, "Single sign-on");

export const headers: HeadersFunction = ({ loaderHeaders }) => {
  const retryAfter = loaderHeaders.get("Retry-After");
  return retryAfter ? { "Retry-After": retryAfter } : new Headers();
};

// Where the identity provider sends the browser back. The flow in the cookie is used up whatever the outcome; a
// refusal is a page of its own with a 4xx status (a 502 when the provider cannot be reached), never a crash.
export async function loader({ request, context }: LoaderFunctionArgs) {
  const cookie = ssoFlowCookie(context.config.sessionSecret);
  const clear = await cookie.clear(request);
  try {
    const outcome = await finishSso(context, {
      flowId: await cookie.read(request),
      callbackQuery: new URL(request.url).search,
      currentStaff: await getCurrentStaff(request, context),
    });
    if (outcome.kind === "stepped-up") return redirect(outcome.redirectTo, { headers: { "Set-Cookie": clear } });
    const started = startStaffSession(context, outcome.user, {
      userAgent: request.headers.get("User-Agent") ?? "",
      method: "sso",
      deviceId: await readDeviceId(request, context.config),
    });
    const headers = await sessionStartHeaders(request, context, started);
    headers.append("Set-Cookie", clear);
    return redirect(outcome.redirectTo, { headers });
  } catch (error) {
    if (!(error instanceof SsoRefused)) throw error;
    const headers = new Headers({ "Set-Cookie": clear });
    if (error.retryAfterSeconds) headers.set("Retry-After", String(error.retryAfterSeconds));
    return data({ refusal: { status: error.status, title: error.title, message: error.message } }, { status: error.status, headers });
  }
}

export default function SsoCallback() {
  const { refusal } = useLoaderData<typeof loader>();
  return <SsoRefusalPage refusal={refusal} />;
}
