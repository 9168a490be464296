import { and, desc, eq, gt, ne } from "drizzle-orm";
import type { Db } from "../../db/open";
import { staffSessions, staffUsers, type SessionMethod } from "../../db/schema";
import { recordAudit, type Actor } from "./audit.server";
import { endSessionsOfUser, type CurrentStaff, type SessionLimits } from "./sessions.server";
import { describeUserAgent } from "./user-agent";

export type ActiveSession = {
  /** The stored hash of the session id: what a form names to end it (the id itself is only ever in its cookie). */
  idHash: string;
  createdAt: Date;
  lastSeenAt: Date;
  clientAddress: string;
  userAgent: string;
  browser: string;
  method: SessionMethod;
  current: boolean;
};

/** A staff member's sessions that still work (neither past their limit nor idle too long), the newest first. */
export function activeSessionsOf(db: Db, staff: { id: number; sessionIdHash?: string }, now: Date, limits: SessionLimits): ActiveSession[] {
  return db
    .select({
      idHash: staffSessions.idHash,
      createdAt: staffSessions.createdAt,
      lastSeenAt: staffSessions.lastSeenAt,
      clientAddress: staffSessions.clientAddress,
      userAgent: staffSessions.userAgent,
      method: staffSessions.method,
    })
    .from(staffSessions)
    .where(and(eq(staffSessions.staffUserId, staff.id), gt(staffSessions.expiresAt, now), gt(staffSessions.lastSeenAt, new Date(now.getTime() - limits.idleMs))))
    .orderBy(desc(staffSessions.lastSeenAt), desc(staffSessions.createdAt))
    .all()
    .map((s) => ({ ...s, browser: describeUserAgent(s.userAgent), current: s.idHash === staff.sessionIdHash }));
}

type EndContext = { clientAddress: string; now: Date };

/**
 * Ends sessions of the staff member's own: the one named, or every one but the current. Only their own: a hash of
 * someone else's session matches nothing. Gives back the hashes ended (none when nothing matched), audited.
 */
export function endOwnSessions(db: Db, staff: CurrentStaff, which: { idHash: string } | "others", ctx: EndContext): string[] {
  return db.transaction((tx) => {
    const scope = which === "others" ? ne(staffSessions.idHash, staff.sessionIdHash) : eq(staffSessions.idHash, which.idHash);
    const ended = tx
      .delete(staffSessions)
      .where(and(eq(staffSessions.staffUserId, staff.id), scope))
      .returning({ idHash: staffSessions.idHash })
      .all()
      .map((r) => r.idHash);
    if (ended.length === 0) return [];
    recordAudit(tx, {
      actor: staff,
      action: "staff.session_end",
      targetType: "staff",
      targetId: staff.id,
      clientAddress: ctx.clientAddress,
      details: { sessionsEnded: ended.length, endedSessions: ended, currentSessionEnded: ended.includes(staff.sessionIdHash) },
      at: ctx.now,
    });
    return ended;
  });
}

/** An administrator ends every session of a staff member (their own included, if they choose so); audited with the hashes. */
export function endAllSessionsOfStaff(db: Db, id: number, ctx: EndContext & { actor: NonNullable<Actor> }): string[] {
  return db.transaction((tx) => {
    const target = tx.select({ email: staffUsers.email }).from(staffUsers).where(eq(staffUsers.id, id)).get();
    if (!target) return [];
    const endedSessions = endSessionsOfUser(tx, id);
    recordAudit(tx, {
      actor: ctx.actor,
      action: "staff.sessions_end",
      targetType: "staff",
      targetId: id,
      clientAddress: ctx.clientAddress,
      details: { email: target.email, sessionsEnded: endedSessions.length, endedSessions },
      at: ctx.now,
    });
    return endedSessions;
  });
}
