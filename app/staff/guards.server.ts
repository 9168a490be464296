import { createCookie, redirect } from "@remix-run/node";
import type { AppContext } from "../context";
import { checkOrigin, CROSS_ORIGIN_MESSAGE } from "../lib/public-origin.server";
import { CHANGE_PASSWORD_PATH, SECURITY_PATH } from "./paths";
import { can, type Permission } from "./permissions";
import { resolveSession, type CurrentStaff } from "./sessions.server";

export const SESSION_COOKIE = "linkdesk_session";

function sessionCookie(secret: string) {
  return createCookie(SESSION_COOKIE, { httpOnly: true, sameSite: "lax", path: "/", secrets: [secret] });
}

const isHttps = (request: Request) => new URL(request.url).protocol === "https:";

/** Set-Cookie value carrying only the session id, signed so a forged value is rejected before any lookup. */
export function commitSessionCookie(request: Request, context: Pick<AppContext, "config">, sessionId: string) {
  return sessionCookie(context.config.sessionSecret).serialize(sessionId, {
    secure: isHttps(request),
    maxAge: Math.floor(context.config.session.maxMs / 1000),
  });
}

export function destroySessionCookie(request: Request, context: Pick<AppContext, "config">) {
  return sessionCookie(context.config.sessionSecret).serialize("", { secure: isHttps(request), maxAge: 0 });
}

export async function readSessionId(request: Request, context: Pick<AppContext, "config">): Promise<string | null> {
  const value: unknown = await sessionCookie(context.config.sessionSecret).parse(request.headers.get("Cookie"));
  return typeof value === "string" && value.length > 0 ? value : null;
}

/** The signed-in staff member, or null. Role and status come from the database on every call. */
export async function getCurrentStaff(request: Request, context: AppContext): Promise<CurrentStaff | null> {
  const sessionId = await readSessionId(request, context);
  if (!sessionId) return null;
  const staff = resolveSession(context.db, sessionId, context.now(), context.config.session);
  if (staff && context.requestMeta) context.requestMeta.staffId = staff.id;
  return staff;
}

/**
 * Refuses a state-changing request that a browser did not send from one of our own pages: its Origin must be one of
 * the console's configured public origins (app/lib/public-origin.server.ts). The server checks the same rule before
 * Remix sees the request; this is the route's own check.
 */
export function assertSameOrigin(request: Request, context: Pick<AppContext, "config">): void {
  const verdict = checkOrigin(context.config, request.method, request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"));
  if (!verdict.ok) {
    throw new Response(CROSS_ORIGIN_MESSAGE, { status: 403, statusText: "Cross-origin request refused" });
  }
}

const FORM_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;
const UNREADABLE = "This address takes a submitted form (application/x-www-form-urlencoded or multipart/form-data); the body sent is not one.";

/** A staff action reads only forms: anything else (JSON, text, XML, no type at all) is a 415 with a message. */
export function assertFormBody(request: Request): void {
  // No body at all is nothing to misread (a button-only form's POST, as some clients send it).
  if (SAFE_METHODS.has(request.method.toUpperCase()) || request.body === null || request.headers.get("Content-Length") === "0") return;
  if (!FORM_TYPES.test(request.headers.get("Content-Type") ?? "")) {
    throw new Response(UNREADABLE, { status: 415, statusText: "Unsupported Media Type" });
  }
}

/** The submitted form; a body that claims to be a form and cannot be read as one is a 400, never a 500. */
export async function readForm(request: Request): Promise<FormData> {
  assertFormBody(request);
  try {
    return await request.formData();
  } catch {
    throw new Response("The submitted form could not be read; send it again from the page.", { status: 400, statusText: "Bad Request" });
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type StaffGuardOptions = { pendingPasswordChange?: "refuse" | "allow"; pendingEnrollment?: "refuse" | "allow" };

/**
 * The signed-in staff member, or a 401. Someone signed in with a one-time password is sent to change it (a GET is
 * redirected there, anything else is a 403) unless the route is the password change itself; after that, someone
 * whose role must use a second factor and who has none is sent to enroll one, unless the route is enrollment.
 */
export async function requireStaff(request: Request, context: AppContext, options: StaffGuardOptions = {}): Promise<CurrentStaff> {
  assertSameOrigin(request, context);
  const staff = await getCurrentStaff(request, context);
  if (!staff) {
    throw new Response("Sign in to continue.", { status: 401, statusText: "Not signed in" });
  }
  if (staff.mustChangePassword && options.pendingPasswordChange !== "allow") {
    if (SAFE_METHODS.has(request.method.toUpperCase())) {
      const url = new URL(request.url);
      throw redirect(`${CHANGE_PASSWORD_PATH}?${new URLSearchParams({ redirectTo: url.pathname + url.search })}`);
    }
    throw new Response("Change your one-time password first: open the console and follow the prompt.", { status: 403, statusText: "Password change required" });
  }
  if (!staff.mustChangePassword && staff.mustEnroll && options.pendingEnrollment !== "allow") {
    if (SAFE_METHODS.has(request.method.toUpperCase())) {
      const url = new URL(request.url);
      throw redirect(`${SECURITY_PATH}?${new URLSearchParams({ redirectTo: url.pathname + url.search })}`);
    }
    throw new Response("Set up a second factor first: your role requires one. Open the console and follow the prompt.", { status: 403, statusText: "Second factor required" });
  }
  assertFormBody(request);
  return staff;
}

function assertCan(staff: CurrentStaff, permission: Permission): void {
  if (!can(staff.role, permission)) {
    throw new Response(`Your role (${staff.role}) does not allow this: it needs the "${permission}" permission.`, {
      status: 403,
      statusText: "Forbidden",
    });
  }
}

export async function requirePermission(
  request: Request,
  context: AppContext,
  permission: Permission,
  options: StaffGuardOptions = {},
): Promise<CurrentStaff> {
  const staff = await requireStaff(request, context, options);
  assertCan(staff, permission);
  return staff;
}

/**
 * For an action with several intents (a form's hidden "intent" field), each needing its own permission: the staff
 * member needs exactly the permission of the intent they sent, checked once. An intent the action does not know is a
 * 400 (a 403 for a role that may do none of them).
 */
export async function requireIntentPermission<I extends string>(
  request: Request,
  context: AppContext,
  needs: Readonly<Record<I, Permission>>,
): Promise<{ staff: CurrentStaff; form: FormData; intent: I }> {
  const staff = await requireStaff(request, context);
  const form = await readForm(request);
  const intent = form.get("intent");
  if (typeof intent !== "string" || !Object.hasOwn(needs, intent)) {
    const permissions = Object.values<Permission>(needs);
    if (!permissions.some((p) => can(staff.role, p))) assertCan(staff, permissions[0]!);
    throw new Response(`Unknown action: send one of ${Object.keys(needs).join(", ")} as the intent.`, { status: 400, statusText: "Bad Request" });
  }
  assertCan(staff, needs[intent as I]);
  return { staff, form, intent: intent as I };
}
