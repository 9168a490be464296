/**
 * Second factors of password accounts: the one check of a submitted proof, used after the password (/login/verify)
 * and by the step-up page.
 *
 * ## Contract for callers (the step-up page)
 *
 * 1. Render `<ProofChallenge action={…} … />` from app/staff/proof-challenge.tsx inside the page, giving it what
 *    `proofOptions(db, staffUserId)` says the account has (`{ totp, recoveryCodes, passkeys }`).
 * 2. In the route's action:
 *    - `intent === PASSKEY_OPTIONS_INTENT` → `return await passkeyProofOptions(deps, request, staffUserId, "webauthn_step_up")`
 *      (a JSON-able `{ passkey: { flowId, options } }`): the component fetches it when "Use a passkey" is pressed,
 *      asks the browser, and submits the answer. It throws `PasskeyRefused` (passkeys.server.ts; `.status`,
 *      `.message`) when the account has no passkey or the request's origin is not the console's: answer
 *      `data({ message }, { status })`, which the component shows.
 *    - otherwise → `const result = await verifyProof(deps, staffUserId, form, { purpose: "webauthn_step_up" })`.
 *      `result.ok` gives `method` ("totp" | "recovery_code" | "passkey"); a refusal gives `status` (400, 401 or
 *      429), a `message` to show, and `retryAfterSeconds` for a 429. Every refusal has already been audited
 *      (`staff.second_factor_failed`, details `{ method, reason, stage }`) and counted by the sign-in throttle under
 *      the account's email; an accepted recovery code is audited as `staff.recovery_code_used`.
 *    - The form fields read: `code` (six digits: TOTP; anything else: a recovery code), or `passkeyFlow` +
 *      `passkeyResponse` (the JSON of the browser's answer).
 * 3. On success the caller records what the proof was for (markSessionVerified for a step-up; a session for a
 *    sign-in). `deps` is `{ db, config, clientAddress, now }` (an AppContext will do).
 */
import { eq, inArray } from "drizzle-orm";
import type { Db } from "../../db/open";
import { staffPasskeys, staffRecoveryCodes, staffTotp, staffUsers } from "../../db/schema";
import type { Config } from "../config/env.server";
import { recordAudit, type Actor } from "./audit.server";
import { getAuthSettings, saveAuthSettings, type AuthSettings } from "./auth-settings.server";
import { hasPasskey, listPasskeys, PasskeyRefused, startPasskeyAssertion, verifyPasskeyAssertion, type AssertionPurpose } from "./passkeys.server";
import { isRole, ROLES, type Role } from "./permissions";
import { PASSKEY_OPTIONS_INTENT } from "./proof-fields";
import { checkLoginThrottle, clearLoginFailures, recordLoginFailure } from "./throttle.server";
import { checkTotpCode, hasConfirmedTotp, isTotpShaped, unusedRecoveryCodes, spendRecoveryCode } from "./totp.server";

export { PASSKEY_OPTIONS_INTENT };

export type FactorDeps = { db: Db; config: Config; clientAddress: string; now: () => Date };

export type ProofMethod = "totp" | "recovery_code" | "passkey";
export type ProofResult = { ok: true; method: ProofMethod } | { ok: false; status: 400 | 401 | 429; message: string; retryAfterSeconds?: number };

/** What a proof can be made with, for the challenge component. */
export type ProofOptions = { totp: boolean; recoveryCodes: number; passkeys: number };

export function proofOptions(db: Db, staffUserId: number): ProofOptions {
  return { totp: hasConfirmedTotp(db, staffUserId), recoveryCodes: unusedRecoveryCodes(db, staffUserId), passkeys: listPasskeys(db, staffUserId).length };
}

/** A confirmed TOTP or a passkey: a password alone does not open a session for this account. */
export function hasSecondFactor(db: Db, staffUserId: number): boolean {
  return hasConfirmedTotp(db, staffUserId) || hasPasskey(db, staffUserId);
}

function actorFor(db: Db, staffUserId: number): (NonNullable<Actor> & { disabled: boolean }) | null {
  const row = db.select({ id: staffUsers.id, email: staffUsers.email, role: staffUsers.role, disabledAt: staffUsers.disabledAt }).from(staffUsers).where(eq(staffUsers.id, staffUserId)).get();
  return row && isRole(row.role) ? { id: row.id, email: row.email, role: row.role, disabled: Boolean(row.disabledAt) } : null;
}

const MESSAGES = {
  wrong: "That code is not right. Check the code in your authenticator app (or the recovery code) and try again.",
  replayed: "That code was already used. Wait for the next code in your authenticator app.",
  reused: "That recovery code was already used; each works once. Use another one.",
  none: "This account has no authenticator app set up: use a passkey or a recovery code.",
  empty: "Enter the code from your authenticator app or a recovery code, or use a passkey.",
} as const;

/**
 * Checks one submitted proof (TOTP code, recovery code or passkey answer) for a staff member. See the contract at
 * the top of this file.
 */
export async function verifyProof(
  deps: FactorDeps,
  staffUserId: number,
  form: FormData,
  opts: { purpose?: AssertionPurpose; stage?: string } = {},
): Promise<ProofResult> {
  const purpose = opts.purpose ?? "webauthn_login";
  const stage = opts.stage ?? (purpose === "webauthn_step_up" ? "step-up" : "sign-in");
  const now = deps.now();
  const user = actorFor(deps.db, staffUserId);
  if (!user || user.disabled) return { ok: false, status: 401, message: "This account cannot sign in." };
  const limits = deps.config.loginThrottle;
  const throttle = checkLoginThrottle(deps.db, { email: user.email, clientAddress: deps.clientAddress, now, limits });
  if (throttle.limited) {
    return { ok: false, status: 429, message: `Too many failed attempts for this account. Wait ${Math.ceil(throttle.retryAfterSeconds / 60)} minutes and try again.`, retryAfterSeconds: throttle.retryAfterSeconds };
  }
  const refuse = (status: 400 | 401, method: ProofMethod, reason: string, message: string): ProofResult => {
    recordLoginFailure(deps.db, { email: user.email, clientAddress: deps.clientAddress, now, limits });
    recordAudit(deps.db, { actor: user, action: "staff.second_factor_failed", clientAddress: deps.clientAddress, details: { method, reason, stage }, at: now });
    return { ok: false, status, message };
  };
  const accepted = (method: ProofMethod): ProofResult => {
    clearLoginFailures(deps.db, user.email, deps.clientAddress);
    return { ok: true, method };
  };

  const passkeyResponse = form.get("passkeyResponse");
  if (typeof passkeyResponse === "string" && passkeyResponse.length > 0) {
    try {
      await verifyPasskeyAssertion(deps, { flowId: form.get("passkeyFlow"), response: passkeyResponse, staffUserId, purpose });
      return accepted("passkey");
    } catch (error) {
      if (!(error instanceof PasskeyRefused)) throw error;
      return refuse(error.status === 401 ? 401 : 400, "passkey", error.reason, error.message);
    }
  }

  const code = form.get("code");
  if (typeof code !== "string" || code.trim() === "") return { ok: false, status: 400, message: MESSAGES.empty };
  if (code.length > 64) return refuse(400, "recovery_code", "malformed code", MESSAGES.wrong);
  if (isTotpShaped(code)) {
    const check = checkTotpCode(deps.db, deps.config.tokenEncryptionKey, staffUserId, code, now);
    if (check === "ok") return accepted("totp");
    return refuse(check === "none" ? 400 : 401, "totp", check === "replayed" ? "code already used" : check === "none" ? "no authenticator app" : "wrong code", MESSAGES[check]);
  }
  const check = spendRecoveryCode(deps.db, staffUserId, code, now);
  if (check === "ok") {
    recordAudit(deps.db, { actor: user, action: "staff.recovery_code_used", clientAddress: deps.clientAddress, details: { stage, left: unusedRecoveryCodes(deps.db, staffUserId) }, at: now });
    return accepted("recovery_code");
  }
  return refuse(401, "recovery_code", check === "reused" ? "recovery code already used" : "wrong recovery code", MESSAGES[check]);
}

/** The answer to the challenge component's "Use a passkey": a fresh challenge for this account's passkeys. */
export async function passkeyProofOptions(deps: FactorDeps, request: Request, staffUserId: number, purpose: AssertionPurpose = "webauthn_login") {
  return { passkey: await startPasskeyAssertion(deps, request, { staffUserId, purpose }) };
}

/** An administrator removes every second factor of an account (its TOTP, recovery codes and passkeys), audited. */
export function resetStaffFactors(db: Db, staffUserId: number, ctx: { actor: NonNullable<Actor>; clientAddress: string; now: Date }): { totp: boolean; passkeys: number } {
  return db.transaction((tx) => {
    const totp = tx.delete(staffTotp).where(eq(staffTotp.staffUserId, staffUserId)).run().changes > 0;
    tx.delete(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffUserId, staffUserId)).run();
    const passkeys = tx.delete(staffPasskeys).where(eq(staffPasskeys.staffUserId, staffUserId)).run().changes;
    recordAudit(tx, { actor: ctx.actor, action: "staff.factors_reset", targetType: "staff", targetId: staffUserId, clientAddress: ctx.clientAddress, details: { totp, passkeys }, at: ctx.now });
    return { totp, passkeys };
  });
}

export class PolicyError extends Error {
  constructor(
    public readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = "PolicyError";
  }
}

/** Active administrators: the accounts that can be the break-glass account. */
export function activeAdmins(db: Db): { id: number; email: string; name: string }[] {
  return db
    .select({ id: staffUsers.id, email: staffUsers.email, name: staffUsers.name, disabledAt: staffUsers.disabledAt, role: staffUsers.role })
    .from(staffUsers)
    .where(inArray(staffUsers.role, ["admin"]))
    .all()
    .filter((u) => !u.disabledAt)
    .map(({ id, email, name }) => ({ id, email, name }));
}

/** Saves the sign-in policy, audited with what it was before and after. */
export function updateAuthPolicy(db: Db, next: AuthSettings, ctx: { actor: NonNullable<Actor>; clientAddress: string; now: Date }): void {
  const roles = ROLES.filter((r) => next.mfaRequiredRoles.includes(r)) as Role[];
  if (next.breakGlassStaffId !== null && !activeAdmins(db).some((a) => a.id === next.breakGlassStaffId)) {
    throw new PolicyError("breakGlassStaffId", "The break-glass account must be an active administrator.");
  }
  if (next.ssoRequired && next.breakGlassStaffId === null) {
    throw new PolicyError("breakGlassStaffId", "Choose a break-glass administrator: when SSO is required, it is the one account that can still sign in with a password.");
  }
  db.transaction((tx) => {
    const before = getAuthSettings(tx);
    const after = { ...next, mfaRequiredRoles: roles };
    saveAuthSettings(tx, after, { by: ctx.actor.id, now: ctx.now });
    recordAudit(tx, { actor: ctx.actor, action: "security.policy_change", targetType: "auth_settings", targetId: 1, clientAddress: ctx.clientAddress, details: { before, after }, at: ctx.now });
  });
}
