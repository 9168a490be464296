import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { auditLog, staffUsers, type AuditEntry } from "../../db/schema";
import { startsWith } from "../lib/like";
import { isRole, type Role } from "./permissions";

export type Actor = { id: number; email: string; role: Role } | null;

/** The actor a background job records its audit entries under: the staff member who started it, if still there. */
export function actorOf(db: Queryable, staffUserId: number | null): Actor {
  if (staffUserId === null) return null;
  const s = db.select({ id: staffUsers.id, email: staffUsers.email, role: staffUsers.role }).from(staffUsers).where(eq(staffUsers.id, staffUserId)).get();
  return s && isRole(s.role) ? { id: s.id, email: s.email, role: s.role } : null;
}

export type AuditInput = {
  actor: Actor;
  action: string;
  targetType?: string;
  targetId?: string | number;
  customerHash?: string;
  clientAddress?: string;
  details?: Record<string, unknown>;
  at?: Date;
};

export function recordAudit(db: Queryable, input: AuditInput): void {
  db.insert(auditLog)
    .values({
      at: input.at ?? new Date(),
      staffUserId: input.actor?.id ?? null,
      staffEmail: input.actor?.email ?? null,
      role: input.actor?.role ?? null,
      action: input.action,
      targetType: input.targetType ?? null,
      targetId: input.targetId === undefined ? null : String(input.targetId),
      customerHash: input.customerHash ?? null,
      clientAddress: input.clientAddress ?? null,
      details: input.details ?? null,
    })
    .run();
}

export type AuditFilter = {
  staffUserId?: number;
  action?: string;
  customerHash?: string;
  from?: Date;
  to?: Date;
};

function where(filter: AuditFilter, beforeId?: number): SQL | undefined {
  const conditions: SQL[] = [];
  if (filter.staffUserId !== undefined) conditions.push(eq(auditLog.staffUserId, filter.staffUserId));
  // An action filter ending in ".*" matches a family ("staff.*" → every staff action).
  if (filter.action) {
    conditions.push(
      filter.action.endsWith(".*") ? startsWith(auditLog.action, filter.action.slice(0, -1)) : eq(auditLog.action, filter.action),
    );
  }
  if (filter.customerHash) conditions.push(eq(auditLog.customerHash, filter.customerHash));
  if (filter.from) conditions.push(gte(auditLog.at, filter.from));
  if (filter.to) conditions.push(lt(auditLog.at, filter.to));
  if (beforeId !== undefined) conditions.push(lt(auditLog.id, beforeId));
  return conditions.length ? and(...conditions) : undefined;
}

/** Newest first, keyset-paged by id so that page 1,000 costs what page 1 costs. */
export function listAudit(db: Db, filter: AuditFilter, page: { beforeId?: number; limit: number }) {
  const rows = db
    .select()
    .from(auditLog)
    .where(where(filter, page.beforeId))
    .orderBy(desc(auditLog.id))
    .limit(page.limit + 1)
    .all();
  const hasMore = rows.length > page.limit;
  const entries = hasMore ? rows.slice(0, page.limit) : rows;
  return { entries, nextBeforeId: hasMore ? entries[entries.length - 1]!.id : undefined };
}

/** Every matching entry, newest first, read in batches so an export of a large log does not hold it all in memory. */
export function* iterateAudit(db: Db, filter: AuditFilter, batchSize = 1000): Generator<AuditEntry> {
  let beforeId: number | undefined;
  for (;;) {
    const { entries, nextBeforeId } = listAudit(db, filter, { beforeId, limit: batchSize });
    yield* entries;
    if (nextBeforeId === undefined) return;
    beforeId = nextBeforeId;
  }
}

export function distinctAuditActions(db: Db): string[] {
  return db
    .selectDistinct({ action: auditLog.action })
    .from(auditLog)
    .orderBy(auditLog.action)
    .all()
    .map((r) => r.action);
}
