import { createHash, randomBytes } from "node:crypto";
import { createCookie } from "@remix-run/node";
import { and, eq, gt, lt } from "drizzle-orm";
import type { Queryable } from "../../db/open";
import { authFlows } from "../../db/schema";

// Each step that spans requests has its own purpose, so that state made for one is never accepted by another.
export type AuthFlowPurpose = "oidc" | "oidc_step_up" | "second_factor" | "webauthn_register" | "webauthn_login" | "webauthn_step_up" | "step_up_action" | "totp_enroll";

const hashId = (id: string) => createHash("sha256").update(id).digest("hex");

/** Stores a flow's state and gives back the random id the browser keeps (in a cookie or a form field). */
export function createAuthFlow(
  db: Queryable,
  input: { purpose: AuthFlowPurpose; staffUserId: number | null; data: Record<string, unknown>; ttlMs: number; now: Date },
): string {
  const id = randomBytes(32).toString("base64url");
  db.insert(authFlows)
    .values({ idHash: hashId(id), purpose: input.purpose, staffUserId: input.staffUserId, data: input.data, createdAt: input.now, expiresAt: new Date(input.now.getTime() + input.ttlMs) })
    .run();
  return id;
}

export type AuthFlow = { staffUserId: number | null; data: Record<string, unknown>; createdAt: Date };

/** The flow's state if it exists, is of this purpose and has not expired; it stays stored (see consumeAuthFlow). */
export function readAuthFlow(db: Queryable, id: string | null | undefined, purpose: AuthFlowPurpose, now: Date): AuthFlow | null {
  if (!id) return null;
  const row = db
    .select({ staffUserId: authFlows.staffUserId, data: authFlows.data, createdAt: authFlows.createdAt })
    .from(authFlows)
    .where(and(eq(authFlows.idHash, hashId(id)), eq(authFlows.purpose, purpose), gt(authFlows.expiresAt, now)))
    .get();
  return row ?? null;
}

/** Reads and deletes the flow in one step: whatever it carries (a state, a challenge) can be used once only. */
export function consumeAuthFlow(db: Queryable, id: string | null | undefined, purpose: AuthFlowPurpose, now: Date): AuthFlow | null {
  if (!id) return null;
  const row = db
    .delete(authFlows)
    .where(and(eq(authFlows.idHash, hashId(id)), eq(authFlows.purpose, purpose)))
    .returning({ staffUserId: authFlows.staffUserId, data: authFlows.data, createdAt: authFlows.createdAt, expiresAt: authFlows.expiresAt })
    .get();
  if (!row || row.expiresAt <= now) return null;
  return { staffUserId: row.staffUserId, data: row.data, createdAt: row.createdAt };
}

/** Replaces a flow's data (a failed attempt counted, say), keeping its id and expiry. */
export function updateAuthFlow(db: Queryable, id: string, data: Record<string, unknown>): void {
  db.update(authFlows).set({ data }).where(eq(authFlows.idHash, hashId(id))).run();
}

export function deleteAuthFlow(db: Queryable, id: string | null | undefined): void {
  if (id) db.delete(authFlows).where(eq(authFlows.idHash, hashId(id))).run();
}

export function pruneAuthFlows(db: Queryable, now: Date): number {
  return db.delete(authFlows).where(lt(authFlows.expiresAt, now)).run().changes;
}

/**
 * A signed, HTTP-only cookie that carries one flow's id. `sameSite: lax` lets it travel on the identity provider's
 * top-level redirect back to the console.
 */
export function authFlowCookie(name: string, secret: string, maxAgeSeconds: number) {
  const cookie = createCookie(name, { httpOnly: true, sameSite: "lax", path: "/", secrets: [secret], maxAge: maxAgeSeconds });
  return {
    async read(request: Request): Promise<string | null> {
      const value: unknown = await cookie.parse(request.headers.get("Cookie"));
      return typeof value === "string" && value.length > 0 ? value : null;
    },
    serialize: (request: Request, id: string) => cookie.serialize(id, { secure: new URL(request.url).protocol === "https:" }),
    clear: (request: Request) => cookie.serialize("", { secure: new URL(request.url).protocol === "https:", maxAge: 0 }),
  };
}
