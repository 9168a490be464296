import { redirect } from "@remix-run/node";
import { eq } from "drizzle-orm";
import { staffUsers } from "../../db/schema";
import type { AppContext } from "../context";
import { recordAudit } from "./audit.server";
import { consumeAuthFlow, createAuthFlow, readAuthFlow } from "./auth-flows.server";
import { verifyPassword } from "./password.server";
import { STEP_UP_PATH } from "./paths";
import { STEP_UP_GRANT_FIELD } from "./step-up";
import { markSessionVerified, type CurrentStaff } from "./sessions.server";
import { checkLoginThrottle, recordLoginFailure } from "./throttle.server";
import { hasSecondFactor, verifyProof } from "./second-factor.server";
import { canReauthenticateWithSso } from "./sso.server";

/**
 * Step-up: a sensitive action (staff and role changes, API keys, factor resets, bulk regeneration, removing a Plaid
 * item, anything that reveals a token) needs a proof of identity no older than STEP_UP_MINUTES. When the session's
 * last proof is older, the action is not performed: what was submitted is kept, for a few minutes, in an auth flow
 * bound to this session, and the browser is sent to the step-up page. Once the staff member has proved who they are
 * there, the page sends the same form again with the flow's id as a grant, which lets exactly that action through
 * once, however short the window (STEP_UP_MINUTES=0 asks every time).
 */

export { STEP_UP_GRANT_FIELD };
const WAITING_ACTION_TTL_MS = 10 * 60_000;

export type WaitingAction = {
  /** What the staff member asked for, in their words: "Create a staff account". */
  label: string;
  /** Where the form goes back to: a path on this site, with its query. */
  path: string;
  /** The submitted fields, in order. */
  fields: [string, string][];
  sessionIdHash: string;
};

/** The proof is recent enough for a sensitive action. */
export function proofIsFresh(staff: Pick<CurrentStaff, "verifiedAt">, context: Pick<AppContext, "config" | "now">): boolean {
  return context.now().getTime() - staff.verifiedAt.getTime() < context.config.stepUpMs;
}

// The path the browser posted to, as a form on a page would post it again: without the data request's suffix.
function actionPath(request: Request): string {
  const url = new URL(request.url);
  if (url.searchParams.has("_data")) url.searchParams.delete("_data");
  const pathname = url.pathname.endsWith(".data") ? url.pathname.slice(0, -".data".length) || "/" : url.pathname;
  return pathname.replace(/^\/_root$/, "/") + url.search;
}

/**
 * Lets a sensitive action through when the session's proof is fresh, or when the form carries the grant of a step-up
 * made for this very action since it was asked for; otherwise keeps the form and sends the browser to prove who they
 * are (a redirect, thrown). `form` is the submitted form the action read.
 */
export function requireFreshProof(request: Request, context: AppContext, staff: CurrentStaff, form: FormData, label: string): void {
  const grant = form.get(STEP_UP_GRANT_FIELD);
  const path = actionPath(request);
  if (typeof grant === "string" && grant) {
    const now = context.now();
    const waiting = readAuthFlow(context.db, grant, "step_up_action", now);
    const data = waiting?.data as WaitingAction | undefined;
    if (waiting && data && waiting.staffUserId === staff.id && data.sessionIdHash === staff.sessionIdHash && data.path === path && staff.verifiedAt > waiting.createdAt) {
      consumeAuthFlow(context.db, grant, "step_up_action", now);
      return;
    }
  }
  if (proofIsFresh(staff, context)) return;
  const fields: [string, string][] = [];
  for (const [name, value] of form) {
    if (name !== STEP_UP_GRANT_FIELD && typeof value === "string") fields.push([name, value]);
  }
  const data: WaitingAction = { label, path, fields, sessionIdHash: staff.sessionIdHash };
  const id = createAuthFlow(context.db, { purpose: "step_up_action", staffUserId: staff.id, data, ttlMs: WAITING_ACTION_TTL_MS, now: context.now() });
  throw redirect(`${STEP_UP_PATH}?${new URLSearchParams({ action: id })}`);
}

/** The action waiting for this staff member's step-up, if the id names one of this session's. */
export function waitingAction(context: AppContext, staff: CurrentStaff, id: string | null): (WaitingAction & { id: string; askedAt: Date }) | null {
  if (!id) return null;
  const flow = readAuthFlow(context.db, id, "step_up_action", context.now());
  const data = flow?.data as WaitingAction | undefined;
  if (!flow || !data || flow.staffUserId !== staff.id || data.sessionIdHash !== staff.sessionIdHash) return null;
  return { ...data, id, askedAt: flow.createdAt };
}

export type ProofVerdict = { ok: true } | { ok: false; status: 400 | 401 | 429; message: string; retryAfterSeconds?: number };

/**
 * Checks the password of the signed-in staff member as a step-up proof: under the same throttle as the sign-in form,
 * a wrong one counted and audited. On success the session is marked verified and the step-up audited.
 */
export async function provePassword(context: AppContext, staff: CurrentStaff, password: string, label: string): Promise<ProofVerdict> {
  const now = context.now();
  const limits = context.config.loginThrottle;
  const throttle = checkLoginThrottle(context.db, { email: staff.email, clientAddress: context.clientAddress, now, limits });
  if (throttle.limited) {
    return { ok: false, status: 429, message: `Too many wrong attempts for this account. Wait ${Math.ceil(throttle.retryAfterSeconds / 60)} minute${throttle.retryAfterSeconds > 60 ? "s" : ""} and try again.`, retryAfterSeconds: throttle.retryAfterSeconds };
  }
  const user = context.db.select({ passwordHash: staffUsers.passwordHash }).from(staffUsers).where(eq(staffUsers.id, staff.id)).get();
  if (!password) return { ok: false, status: 400, message: "Enter your password." };
  if (!user || !(await verifyPassword(password, user.passwordHash))) {
    recordLoginFailure(context.db, { email: staff.email, clientAddress: context.clientAddress, now, limits });
    recordAudit(context.db, { actor: staff, action: "staff.step_up_failed", clientAddress: context.clientAddress, details: { proof: "password", for: label }, at: now });
    return { ok: false, status: 401, message: "That is not your password." };
  }
  confirmStepUp(context, staff, { proof: "password", label });
  return { ok: true };
}

/** Records a step-up that succeeded, by whatever proof: the session's proof is now fresh. */
export function confirmStepUp(context: AppContext, staff: CurrentStaff, input: { proof: string; label: string | null }): void {
  const now = context.now();
  context.db.transaction((tx) => {
    markSessionVerified(tx, staff.sessionIdHash, now);
    recordAudit(tx, { actor: staff, action: "staff.step_up", clientAddress: context.clientAddress, details: { proof: input.proof, ...(input.label ? { for: input.label } : {}) }, at: now });
  });
}

export type ProofKind = "sso" | "factor" | "password";

/**
 * What the step-up page asks this staff member for: a session opened through SSO re-authenticates at the identity
 * provider; an account with a second factor gives it (a password alone is weaker than what it signed in with); any
 * other account its password. An SSO-only account with no password re-authenticates at the provider.
 */
export function proofKindOf(context: AppContext, staff: CurrentStaff): ProofKind {
  const sso = canReauthenticateWithSso(context, staff.id);
  if (sso && staff.method === "sso") return "sso";
  if (hasSecondFactor(context.db, staff.id)) return "factor";
  const account = context.db.select({ passwordHash: staffUsers.passwordHash }).from(staffUsers).where(eq(staffUsers.id, staff.id)).get();
  return !account?.passwordHash && sso ? "sso" : "password";
}

/** Checks a second factor (TOTP code, recovery code, passkey) as a step-up proof; refusals are audited and throttled there. */
export async function proveSecondFactor(context: AppContext, staff: CurrentStaff, form: FormData, label: string): Promise<ProofVerdict> {
  const result = await verifyProof(context, staff.id, form, { purpose: "webauthn_step_up" });
  if (!result.ok) {
    recordAudit(context.db, { actor: staff, action: "staff.step_up_failed", clientAddress: context.clientAddress, details: { proof: "second factor", for: label }, at: context.now() });
    return result;
  }
  confirmStepUp(context, staff, { proof: result.method, label });
  return { ok: true };
}
