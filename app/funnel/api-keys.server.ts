import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { desc, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/open";
import { apiKeys, staffUsers, type ApiKeyScope } from "../../db/schema";
import { recordAudit, type Actor } from "../staff/audit.server";

const KEY_PREFIX = "lkd_";
// What a key looks like: the prefix, then 40 base64url characters (240 random bits).
const KEY_SHAPE = /^lkd_[A-Za-z0-9_-]{40}$/;
const SHOWN_CHARACTERS = 12;

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

type Ctx = { actor: NonNullable<Actor>; clientAddress: string; now: Date };

/** Creates a key; the secret is returned this once and only its SHA-256 is kept. */
export const SCOPE_LABEL: Record<ApiKeyScope, string> = { events: "Funnel events (POST /api/events)", customer_data: "Customer data (POST /api/customer-data)" };

/** Creates a key allowed the given scopes; the secret is returned this once and only its SHA-256 is kept. */
export function createApiKey(db: Db, name: string, ctx: Ctx, scopes: ApiKeyScope[] = ["events"]) {
  const secret = KEY_PREFIX + randomBytes(30).toString("base64url");
  const row = db.insert(apiKeys).values({ name, prefix: secret.slice(0, SHOWN_CHARACTERS), secretSha256: sha256(secret), createdBy: ctx.actor.id, createdAt: ctx.now, scopes }).returning().get();
  recordAudit(db, { actor: ctx.actor, action: "api_key.create", targetType: "api_key", targetId: row.id, clientAddress: ctx.clientAddress, details: { name, prefix: row.prefix, scopes }, at: ctx.now });
  return { id: row.id, prefix: row.prefix, secret };
}

export function revokeApiKey(db: Db, id: number, ctx: Ctx): boolean {
  const row = db.update(apiKeys).set({ revokedAt: ctx.now, revokedBy: ctx.actor.id }).where(sql`${apiKeys.id} = ${id} and ${apiKeys.revokedAt} is null`).returning().get();
  if (!row) return false;
  recordAudit(db, { actor: ctx.actor, action: "api_key.revoke", targetType: "api_key", targetId: id, clientAddress: ctx.clientAddress, details: { name: row.name, prefix: row.prefix }, at: ctx.now });
  return true;
}

export function listApiKeys(db: Db) {
  return db
    .select({ id: apiKeys.id, name: apiKeys.name, prefix: apiKeys.prefix, createdAt: apiKeys.createdAt, createdBy: staffUsers.email, revokedAt: apiKeys.revokedAt, lastUsedAt: apiKeys.lastUsedAt, eventsAccepted: apiKeys.eventsAccepted, entriesAccepted: apiKeys.entriesAccepted, scopes: apiKeys.scopes })
    .from(apiKeys)
    .leftJoin(staffUsers, eq(staffUsers.id, apiKeys.createdBy))
    .orderBy(sql`${apiKeys.revokedAt} is not null`, desc(apiKeys.id))
    .all();
}

export type KeyCheck = { ok: true; keyId: number } | { ok: false; status: 401 | 403; error: "missing_key" | "invalid_key" | "revoked_key" | "wrong_scope"; message: string };

/**
 * Reads `Authorization: Bearer <key>` and finds the key by the SHA-256 of the secret, compared in constant time; a
 * key without the scope the endpoint needs is refused with 403.
 */
export function authenticateApiKey(db: Db, authorization: string | null, scope: ApiKeyScope): KeyCheck {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match) return { ok: false, status: 401, error: "missing_key", message: "Send the API key as `Authorization: Bearer lkd_…`." };
  const secret = match[1]!;
  if (!KEY_SHAPE.test(secret)) return { ok: false, status: 401, error: "invalid_key", message: "That is not a Linkdesk API key." };
  const digest = sha256(secret);
  const row = db.select({ id: apiKeys.id, secretSha256: apiKeys.secretSha256, revokedAt: apiKeys.revokedAt, scopes: apiKeys.scopes }).from(apiKeys).where(eq(apiKeys.secretSha256, digest)).get();
  if (!row || !timingSafeEqual(Buffer.from(row.secretSha256, "hex"), Buffer.from(digest, "hex"))) return { ok: false, status: 401, error: "invalid_key", message: "No API key matches; it may have been mistyped." };
  if (row.revokedAt) return { ok: false, status: 401, error: "revoked_key", message: `This API key was revoked on ${row.revokedAt.toISOString()}. Ask an administrator for a new one.` };
  if (!row.scopes.includes(scope)) return { ok: false, status: 403, error: "wrong_scope", message: `This API key is not allowed ${SCOPE_LABEL[scope]}; an administrator can create a key that is.` };
  return { ok: true, keyId: row.id };
}

export function noteKeyUse(db: Db, keyId: number, accepted: number, at: Date, counter: "events" | "entries" = "events") {
  const column = counter === "events" ? apiKeys.eventsAccepted : apiKeys.entriesAccepted;
  db.update(apiKeys).set({ lastUsedAt: at, [counter === "events" ? "eventsAccepted" : "entriesAccepted"]: sql`${column} + ${accepted}` }).where(eq(apiKeys.id, keyId)).run();
}
