import { eq } from "drizzle-orm";
import { Authenticator } from "remix-auth";
import { FormStrategy } from "remix-auth-form";
import type { Db } from "../../db/open";
import { staffUsers } from "../../db/schema";
import type { Config } from "../config/env.server";
import { recordAudit } from "./audit.server";
import { getAuthSettings, type AuthSettings } from "./auth-settings.server";
import { loginForm, parseForm, type FieldErrors } from "./forms";
import { dummyPasswordHash, verifyPassword } from "./password.server";
import { isRole, type Role } from "./permissions";
import { createSession, type SessionMethod } from "./sessions.server";
import { commitDeviceCookie, hashDeviceId, newDeviceId, noteDevice } from "./devices.server";
import { commitSessionCookie } from "./guards.server";
import { checkLoginThrottle, clearLoginFailures, recordLoginFailure } from "./throttle.server";
import { hasSecondFactor } from "./second-factor.server";

export type LoginDeps = { db: Db; config: Config; clientAddress: string; now: () => Date };

export type AuthenticatedStaff = { id: number; email: string; role: Role };

// One message for a wrong email and a wrong password alike, so the form does not reveal which accounts exist.
export const BAD_CREDENTIALS = "That email and password do not match an active staff account.";

// Told only to someone who gave an account's right password while the policy requires SSO: the page already says
// that everyone but the break-glass account signs in through SSO, so this reveals nothing more.
export const SSO_REQUIRED_MESSAGE = 'Password sign-in is turned off for this account: your organisation signs in through single sign-on. Use "Sign in with SSO".';

/**
 * Whether this account may sign in without the identity provider (with a password, or a passkey in its place): always,
 * unless an administrator requires SSO, when only the break-glass account still may.
 */
export function passwordSignInAllowed(settings: Pick<AuthSettings, "ssoRequired" | "breakGlassStaffId">, user: { id: number }): boolean {
  return !settings.ssoRequired || settings.breakGlassStaffId === user.id;
}

export class LoginRefused extends Error {
  constructor(
    public readonly status: 400 | 401 | 403 | 429,
    message: string,
    public readonly fieldErrors: FieldErrors = {},
    public readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "LoginRefused";
  }
}

function formatWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

/** remix-auth only answers "who is this?"; the session is created by `startStaffSession`. */
export function createAuthenticator(deps: LoginDeps): Authenticator<AuthenticatedStaff> {
  const authenticator = new Authenticator<AuthenticatedStaff>();
  authenticator.use(
    new FormStrategy(async ({ form }) => {
      const parsed = parseForm(loginForm, form);
      if (!parsed.ok) throw new LoginRefused(400, "Check the highlighted fields.", parsed.fieldErrors);
      const { email, password } = parsed.data;
      const now = deps.now();
      const limits = deps.config.loginThrottle;
      const throttle = checkLoginThrottle(deps.db, { email, clientAddress: deps.clientAddress, now, limits });
      if (throttle.limited) {
        const wait = formatWait(throttle.retryAfterSeconds);
        throw new LoginRefused(
          429,
          throttle.scope === "account-address"
            ? `Too many failed sign-in attempts for this account from here. Wait ${wait} and try again.`
            : `Too many failed sign-in attempts for this account from several places. Wait ${wait} and try again, or sign in from where you usually do.`,
          {},
          throttle.retryAfterSeconds,
        );
      }
      const user = deps.db.select().from(staffUsers).where(eq(staffUsers.email, email)).get();
      const passwordMatches = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
      if (!user || !passwordMatches || user.disabledAt || !isRole(user.role)) {
        recordLoginFailure(deps.db, { email, clientAddress: deps.clientAddress, now, limits });
        recordAudit(deps.db, {
          actor: user && isRole(user.role) ? { id: user.id, email: user.email, role: user.role } : null,
          action: "staff.login_failed",
          clientAddress: deps.clientAddress,
          details: { email, reason: !user ? "unknown email" : user.disabledAt ? "disabled" : "wrong password" },
          at: now,
        });
        throw new LoginRefused(401, BAD_CREDENTIALS);
      }
      if (!passwordSignInAllowed(getAuthSettings(deps.db), user)) {
        recordAudit(deps.db, {
          actor: { id: user.id, email: user.email, role: user.role },
          action: "staff.login_failed",
          clientAddress: deps.clientAddress,
          details: { email, reason: "sso required" },
          at: now,
        });
        throw new LoginRefused(403, SSO_REQUIRED_MESSAGE);
      }
      // With a second factor still to come, the failures stay counted until it is given (second-factor.server.ts):
      // otherwise knowing the password would reset the count of wrong codes at every try.
      if (!hasSecondFactor(deps.db, user.id)) clearLoginFailures(deps.db, email, deps.clientAddress);
      return { id: user.id, email: user.email, role: user.role };
    }),
    "form",
  );
  return authenticator;
}

export type StartedSession = { sessionId: string; deviceId: string; newDevice: boolean };

/**
 * Opens a session for someone who has proved who they are (by `method`), noting the device: a sign-in from a browser
 * this account never used is audited as such. `deviceId` is the browser's device cookie, if it has one.
 */
export function startStaffSession(
  deps: LoginDeps,
  user: AuthenticatedStaff,
  input: { userAgent: string; method: SessionMethod; deviceId: string | null },
): StartedSession {
  const now = deps.now();
  const deviceId = input.deviceId ?? newDeviceId();
  const deviceHash = hashDeviceId(deviceId);
  return deps.db.transaction((tx) => {
    const sessionId = createSession(tx, {
      staffUserId: user.id,
      clientAddress: deps.clientAddress,
      userAgent: input.userAgent,
      now,
      limits: deps.config.session,
      method: input.method,
      deviceHash,
    });
    tx.update(staffUsers).set({ lastLoginAt: now }).where(eq(staffUsers.id, user.id)).run();
    const newDevice = noteDevice(tx, { staffUserId: user.id, deviceHash, userAgent: input.userAgent, clientAddress: deps.clientAddress, now });
    recordAudit(tx, { actor: user, action: "staff.login", clientAddress: deps.clientAddress, details: { method: input.method }, at: now });
    if (newDevice) {
      recordAudit(tx, { actor: user, action: "staff.new_device", clientAddress: deps.clientAddress, details: { method: input.method, userAgent: input.userAgent.slice(0, 300) }, at: now });
    }
    return { sessionId, deviceId, newDevice };
  });
}

/** The Set-Cookie headers of a session just started: the session cookie and the device cookie. */
export async function sessionStartHeaders(request: Request, context: Pick<LoginDeps, "config">, started: StartedSession): Promise<Headers> {
  const headers = new Headers();
  headers.append("Set-Cookie", await commitSessionCookie(request, context, started.sessionId));
  headers.append("Set-Cookie", await commitDeviceCookie(request, context.config, started.deviceId));
  return headers;
}

/** Only a path on this site: "/x" but not "//evil.example", "/\\evil.example", "https://…" or anything that resolves to one. */
export function safeRedirectPath(value: unknown, fallback = "/"): string {
  if (typeof value !== "string" || value.length > 2000) return fallback;
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\\]/.test(value)) return fallback;
  const parsed = new URL(value, "http://linkdesk.invalid");
  if (parsed.origin !== "http://linkdesk.invalid") return fallback;
  // The check that matters is on the path a browser will follow: resolving dot segments ("/.//x", "/a/..//x",
  // "/%2e//x") can turn an innocent-looking input into a protocol-relative "//x".
  const path = parsed.pathname + parsed.search + parsed.hash;
  return path.startsWith("/") && !path.startsWith("//") && !path.startsWith("/\\") ? path : fallback;
}
