import { data, redirect } from "@remix-run/node";
import { eq } from "drizzle-orm";
import { staffPasskeys, staffUsers } from "../../db/schema";
import { recordAudit } from "./audit.server";
import { authFlowCookie, consumeAuthFlow, createAuthFlow, deleteAuthFlow, readAuthFlow, updateAuthFlow } from "./auth-flows.server";
import { getAuthSettings } from "./auth-settings.server";
import { sessionStartHeaders, startStaffSession, type AuthenticatedStaff, type LoginDeps } from "./auth.server";
import { readDeviceId } from "./devices.server";
import { PasskeyRefused, startPasskeyAssertion, verifyPasskeyAssertion } from "./passkeys.server";
import { SECOND_FACTOR_PATH } from "./paths";
import { isRole } from "./permissions";
import { PASSKEY_FLOW_FIELD, PASSKEY_OPTIONS_INTENT, PASSKEY_RESPONSE_FIELD } from "./proof-fields";
import { passkeyProofOptions, verifyProof } from "./second-factor.server";
import { checkLoginThrottle, clearLoginFailures, recordLoginFailure } from "./throttle.server";

// The step between a correct password and a session, for an account with a second factor: the browser holds a
// short-lived flow (a cookie) naming the account; /login/verify asks for the factor and opens the session.

export const SECOND_FACTOR_TTL_MS = 5 * 60_000;
export const SECOND_FACTOR_MAX_ATTEMPTS = 5;
const COOKIE = "linkdesk_second_factor";

const cookieOf = (deps: Pick<LoginDeps, "config">) => authFlowCookie(COOKIE, deps.config.sessionSecret, SECOND_FACTOR_TTL_MS / 1000);

export const SIGN_IN_EXPIRED = "Your sign-in has expired or was not started here: sign in again with your password.";

/** After the password: no session yet, but a flow for the second factor and a redirect to ask for it. */
export async function redirectToSecondFactor(deps: LoginDeps, request: Request, user: AuthenticatedStaff, redirectTo: string): Promise<Response> {
  const flowId = createAuthFlow(deps.db, { purpose: "second_factor", staffUserId: user.id, data: { attempts: 0, redirectTo }, ttlMs: SECOND_FACTOR_TTL_MS, now: deps.now() });
  const query = redirectTo === "/" ? "" : `?${new URLSearchParams({ redirectTo })}`;
  return redirect(`${SECOND_FACTOR_PATH}${query}`, { headers: { "Set-Cookie": await cookieOf(deps).serialize(request, flowId) } });
}

export type PendingSignIn = { flowId: string; staffUserId: number; email: string; attempts: number; redirectTo: string };

export async function readPendingSignIn(deps: LoginDeps, request: Request): Promise<PendingSignIn | null> {
  const flowId = await cookieOf(deps).read(request);
  const flow = readAuthFlow(deps.db, flowId, "second_factor", deps.now());
  if (!flowId || !flow || flow.staffUserId === null) return null;
  const user = deps.db.select({ email: staffUsers.email, disabledAt: staffUsers.disabledAt }).from(staffUsers).where(eq(staffUsers.id, flow.staffUserId)).get();
  if (!user || user.disabledAt) return null;
  const d = flow.data as { attempts?: number; redirectTo?: string };
  return { flowId, staffUserId: flow.staffUserId, email: user.email, attempts: d.attempts ?? 0, redirectTo: d.redirectTo ?? "/" };
}

type Refusal = { message: string };
const refusal = (status: number, message: string, headers?: HeadersInit) => data<Refusal>({ message }, { status, headers });

/** The action of /login/verify: a passkey challenge, or one proof checked and, when right, the session opened. */
export async function secondFactorAction(deps: LoginDeps, request: Request, form: FormData) {
  const pending = await readPendingSignIn(deps, request);
  if (!pending) return refusal(400, SIGN_IN_EXPIRED);
  if (form.get("intent") === PASSKEY_OPTIONS_INTENT) {
    try {
      return await passkeyProofOptions(deps, request, pending.staffUserId, "webauthn_login");
    } catch (error) {
      if (error instanceof PasskeyRefused) return refusal(error.status, error.message);
      throw error;
    }
  }
  const result = await verifyProof(deps, pending.staffUserId, form, { purpose: "webauthn_login", stage: "sign-in" });
  if (!result.ok) {
    const attempts = pending.attempts + 1;
    if (attempts >= SECOND_FACTOR_MAX_ATTEMPTS) {
      deleteAuthFlow(deps.db, pending.flowId);
      return refusal(result.status === 429 ? 429 : 401, `${result.message} That was the last attempt for this sign-in: sign in again with your password.`, { "Set-Cookie": await cookieOf(deps).clear(request) });
    }
    updateAuthFlow(deps.db, pending.flowId, { attempts, redirectTo: pending.redirectTo });
    return refusal(result.status, result.message, result.retryAfterSeconds ? { "Retry-After": String(result.retryAfterSeconds) } : undefined);
  }
  // The flow is single use: a second request racing with the same proof finds it gone.
  const flow = consumeAuthFlow(deps.db, pending.flowId, "second_factor", deps.now());
  const user = deps.db.select().from(staffUsers).where(eq(staffUsers.id, pending.staffUserId)).get();
  if (!flow || !user || user.disabledAt || !isRole(user.role)) return refusal(400, SIGN_IN_EXPIRED);
  const started = startStaffSession(
    deps,
    { id: user.id, email: user.email, role: user.role },
    { userAgent: request.headers.get("User-Agent") ?? "", method: `password+${result.method}`, deviceId: await readDeviceId(request, deps.config) },
  );
  const headers = await sessionStartHeaders(request, deps, started);
  headers.append("Set-Cookie", await cookieOf(deps).clear(request));
  return redirect(pending.redirectTo, { headers });
}

/** Whether a /login post is the passwordless passkey sign-in (asking for its challenge, or answering it). */
export function isPasskeySignIn(form: FormData): boolean {
  return form.get("intent") === PASSKEY_OPTIONS_INTENT || form.get("intent") === "passkey" || form.has(PASSKEY_RESPONSE_FIELD);
}

/**
 * The passwordless sign-in on /login: a discoverable passkey, with user verification, names the account. When SSO
 * is required, only the break-glass account may sign in this way. Refusals are audited as failed sign-ins and
 * counted by the throttle under the passkey's account.
 */
export async function passkeySignInAction(deps: LoginDeps, request: Request, form: FormData, redirectTo: string) {
  if (form.get("intent") === PASSKEY_OPTIONS_INTENT) {
    try {
      return { passkey: await startPasskeyAssertion(deps, request, { staffUserId: null, purpose: "webauthn_login" }) };
    } catch (error) {
      if (error instanceof PasskeyRefused) return refusal(error.status, error.message);
      throw error;
    }
  }
  const now = deps.now();
  const limits = deps.config.loginThrottle;
  const raw = form.get(PASSKEY_RESPONSE_FIELD);
  // The account the answer claims, for the throttle: the signature decides whether it is really theirs.
  let claimedId: string | null = null;
  try {
    claimedId = typeof raw === "string" ? ((JSON.parse(raw) as { id?: unknown }).id as string) ?? null : null;
  } catch {
    claimedId = null;
  }
  const claimed =
    typeof claimedId === "string"
      ? deps.db
          .select({ id: staffUsers.id, email: staffUsers.email, role: staffUsers.role, disabledAt: staffUsers.disabledAt })
          .from(staffPasskeys)
          .innerJoin(staffUsers, eq(staffUsers.id, staffPasskeys.staffUserId))
          .where(eq(staffPasskeys.id, claimedId))
          .get()
      : undefined;
  if (claimed) {
    const throttle = checkLoginThrottle(deps.db, { email: claimed.email, clientAddress: deps.clientAddress, now, limits });
    if (throttle.limited) {
      return refusal(429, `Too many failed sign-in attempts for this account. Wait ${Math.ceil(throttle.retryAfterSeconds / 60)} minutes and try again.`, { "Retry-After": String(throttle.retryAfterSeconds) });
    }
  }
  const actor = claimed && isRole(claimed.role) ? { id: claimed.id, email: claimed.email, role: claimed.role } : null;
  const refuse = (status: number, reason: string, message: string) => {
    if (claimed) recordLoginFailure(deps.db, { email: claimed.email, clientAddress: deps.clientAddress, now, limits });
    recordAudit(deps.db, { actor, action: "staff.login_failed", clientAddress: deps.clientAddress, details: { method: "passkey", reason, ...(claimed ? { email: claimed.email } : {}) }, at: now });
    return refusal(status, message);
  };
  let verified;
  try {
    verified = await verifyPasskeyAssertion(deps, { flowId: form.get(PASSKEY_FLOW_FIELD), response: raw, staffUserId: null, purpose: "webauthn_login" });
  } catch (error) {
    if (!(error instanceof PasskeyRefused)) throw error;
    return refuse(error.status, error.reason, error.message);
  }
  if (!claimed || !actor || claimed.disabledAt) return refuse(401, "disabled", "This passkey's account cannot sign in.");
  const settings = getAuthSettings(deps.db);
  if (settings.ssoRequired && settings.breakGlassStaffId !== verified.staffUserId) {
    return refuse(403, "SSO required", "Sign in through single sign-on: it is required for every account but the break-glass administrator.");
  }
  clearLoginFailures(deps.db, claimed.email, deps.clientAddress);
  const started = startStaffSession(deps, actor, { userAgent: request.headers.get("User-Agent") ?? "", method: "passkey", deviceId: await readDeviceId(request, deps.config) });
  return redirect(redirectTo, { headers: await sessionStartHeaders(request, deps, started) });
}
