import { and, desc, eq, max } from "drizzle-orm";
import type { Db } from "../../db/open";
import { auditLog } from "../../db/schema";
import { recordAudit, type Actor } from "../staff/audit.server";
import { hashCustomerId } from "./customer-hash.server";
import { parseLookup, type LookupMode } from "./customer-id";

export type LookupResult = { ok: true; hash: string } | { ok: false; message: string };

/**
 * Resolves what an agent typed to a customer hash. A raw id is hashed here and goes no further: only the hash and
 * the fact that a raw id was typed reach the audit log.
 */
export function lookUpCustomer(
  db: Db,
  input: { query: string; mode: LookupMode; hmacKey: string; actor: NonNullable<Actor>; clientAddress: string; now: Date },
): LookupResult {
  const parsed = parseLookup(input.query, input.mode);
  if (!parsed.ok) return parsed;
  const hash = parsed.kind === "hash" ? parsed.hash : hashCustomerId(parsed.rawId, input.hmacKey);
  recordAudit(db, {
    actor: input.actor,
    action: "customer.lookup",
    customerHash: hash,
    clientAddress: input.clientAddress,
    details: { by: parsed.kind === "hash" ? "hashed id" : "internal id" },
    at: input.now,
  });
  return { ok: true, hash };
}

/** The customers this staff member looked up most recently, newest first, each once. */
export function recentLookups(db: Db, staffUserId: number, limit = 10) {
  return db
    .select({ customerHash: auditLog.customerHash, at: max(auditLog.at) })
    .from(auditLog)
    .where(and(eq(auditLog.staffUserId, staffUserId), eq(auditLog.action, "customer.lookup")))
    .groupBy(auditLog.customerHash)
    .orderBy(desc(max(auditLog.at)))
    .limit(limit)
    .all()
    .flatMap((r) => (r.customerHash && r.at ? [{ customerHash: r.customerHash, at: new Date(r.at) }] : []));
}
