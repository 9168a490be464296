import { createCookie } from "@remix-run/node";
import type { AppContext } from "../context";
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
  return resolveSession(context.db, sessionId, context.now(), context.config.session);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses a state-changing request that a browser did not send from one of our own pages. Browsers put Origin on
 * every POST; Sec-Fetch-Site is the fallback. A request carrying neither is refused too.
 */
export function assertSameOrigin(request: Request): void {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return;
  const origin = request.headers.get("Origin");
  const site = request.headers.get("Sec-Fetch-Site");
  const ours = new URL(request.url).origin;
  const sameOrigin = origin ? origin === ours : site === "same-origin";
  if (!sameOrigin) {
    throw new Response("This request did not come from a Linkdesk page, so it was refused.", {
      status: 403,
      statusText: "Cross-origin request refused",
    });
  }
}

export async function requireStaff(request: Request, context: AppContext): Promise<CurrentStaff> {
  assertSameOrigin(request);
  const staff = await getCurrentStaff(request, context);
  if (!staff) {
    throw new Response("Sign in to continue.", { status: 401, statusText: "Not signed in" });
  }
  return staff;
}

export async function requirePermission(
  request: Request,
  context: AppContext,
  permission: Permission,
): Promise<CurrentStaff> {
  const staff = await requireStaff(request, context);
  if (!can(staff.role, permission)) {
    throw new Response(`Your role (${staff.role}) does not allow this: it needs the "${permission}" permission.`, {
      status: 403,
      statusText: "Forbidden",
    });
  }
  return staff;
}
