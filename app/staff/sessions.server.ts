import { createHash, randomBytes } from "node:crypto";
import { and, eq, lt, ne, or, sql } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { authSettings, staffPasskeys, staffSessions, staffTotp, staffUsers, type SessionMethod } from "../../db/schema";
import { DEFAULT_AUTH_SETTINGS } from "./auth-settings.server";

function requiredRoles(stored: string | null): string[] {
  if (stored === null) return DEFAULT_AUTH_SETTINGS.mfaRequiredRoles;
  try {
    const roles = JSON.parse(stored) as unknown;
    return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === "string") : DEFAULT_AUTH_SETTINGS.mfaRequiredRoles;
  } catch {
    return DEFAULT_AUTH_SETTINGS.mfaRequiredRoles;
  }
}
import { isRole, type Role } from "./permissions";
import type { SessionEndedBy } from "./session-labels";

export type { SessionMethod };

export type SessionLimits = { idleMs: number; maxMs: number };

export type CurrentStaff = {
  id: number;
  email: string;
  name: string;
  role: Role;
  sessionIdHash: string;
  /** Signed in with a one-time password: nothing but the password change is open to them until it is changed. */
  mustChangePassword: boolean;
  /** How this session was opened. */
  method: SessionMethod;
  /** The session's last proof of identity: its sign-in, or the latest step-up. */
  verifiedAt: Date;
  /**
   * The role must use a second factor and this password account has none yet: nothing but enrolling one is open to
   * them. Never set for an SSO session (the identity provider answers for its own factors).
   */
  mustEnroll: boolean;
};

// last_seen_at is refreshed at most this often, so that reading a page is not a write every time.
const TOUCH_INTERVAL_MS = 60_000;

export function hashSessionId(sessionId: string): string {
  return createHash("sha256").update(sessionId).digest("hex");
}

export function createSession(
  db: Queryable,
  input: { staffUserId: number; clientAddress: string; userAgent: string; now: Date; limits: SessionLimits; method?: SessionMethod; deviceHash?: string | null },
): string {
  const sessionId = randomBytes(32).toString("base64url");
  db.insert(staffSessions)
    .values({
      idHash: hashSessionId(sessionId),
      staffUserId: input.staffUserId,
      createdAt: input.now,
      lastSeenAt: input.now,
      expiresAt: new Date(input.now.getTime() + input.limits.maxMs),
      clientAddress: input.clientAddress.slice(0, 100),
      userAgent: input.userAgent.slice(0, 300),
      method: input.method ?? "password",
      verifiedAt: input.now,
      deviceHash: input.deviceHash ?? null,
    })
    .run();
  return sessionId;
}

/**
 * The staff member behind a session id, read fresh from the database, or null when the session is unknown, idle for
 * too long, past its absolute limit, or its user is disabled. A dead session is deleted on the way out.
 */
export function resolveSession(db: Db, sessionId: string, now: Date, limits: SessionLimits): CurrentStaff | null {
  const idHash = hashSessionId(sessionId);
  const row = db
    .select({
      lastSeenAt: staffSessions.lastSeenAt,
      expiresAt: staffSessions.expiresAt,
      id: staffUsers.id,
      email: staffUsers.email,
      name: staffUsers.name,
      role: staffUsers.role,
      disabledAt: staffUsers.disabledAt,
      mustChangePassword: staffUsers.mustChangePassword,
      createdAt: staffSessions.createdAt,
      method: staffSessions.method,
      verifiedAt: staffSessions.verifiedAt,
      // The sign-in policy's roles, read in the same statement (auth_settings has one row).
      mfaRequiredRoles: sql<string | null>`(select ${authSettings.mfaRequiredRoles} from ${authSettings} where ${authSettings.id} = 1)`,
      hasFactor: sql<number>`(exists (select 1 from ${staffTotp} where ${staffTotp.staffUserId} = ${staffUsers.id} and ${staffTotp.confirmedAt} is not null) or exists (select 1 from ${staffPasskeys} where ${staffPasskeys.staffUserId} = ${staffUsers.id}))`,
    })
    .from(staffSessions)
    .innerJoin(staffUsers, eq(staffUsers.id, staffSessions.staffUserId))
    .where(eq(staffSessions.idHash, idHash))
    .get();
  if (!row) return null;
  const idleFor = now.getTime() - row.lastSeenAt.getTime();
  if (row.disabledAt || now >= row.expiresAt || idleFor >= limits.idleMs || !isRole(row.role)) {
    db.delete(staffSessions).where(eq(staffSessions.idHash, idHash)).run();
    return null;
  }
  if (idleFor >= TOUCH_INTERVAL_MS) {
    db.update(staffSessions).set({ lastSeenAt: now }).where(eq(staffSessions.idHash, idHash)).run();
  }
  const mustEnroll = row.method !== "sso" && !row.hasFactor && requiredRoles(row.mfaRequiredRoles).includes(row.role);
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    sessionIdHash: idHash,
    mustChangePassword: row.mustChangePassword,
    method: row.method,
    verifiedAt: row.verifiedAt ?? row.createdAt,
    mustEnroll,
  };
}

/** Records a fresh proof of identity (a step-up) on the session. */
export function markSessionVerified(db: Queryable, sessionIdHash: string, now: Date): void {
  db.update(staffSessions).set({ verifiedAt: now, lastSeenAt: now }).where(eq(staffSessions.idHash, sessionIdHash)).run();
}

export function deleteSession(db: Db, sessionId: string): void {
  db.delete(staffSessions).where(eq(staffSessions.idHash, hashSessionId(sessionId))).run();
}

/** Ends every session of a user and gives back the hashes of those ended, so the audit entry can say who ended them. */
export function endSessionsOfUser(db: Queryable, staffUserId: number): string[] {
  return db.delete(staffSessions).where(eq(staffSessions.staffUserId, staffUserId)).returning({ idHash: staffSessions.idHash }).all().map((r) => r.idHash);
}

export type EndedBy = SessionEndedBy;

// The audit actions whose entries list the sessions they ended, and what each means for the browser that held one.
const ENDED_BY_ACTION: Record<string, EndedBy> = {
  "staff.disable": "disabled",
  "staff.password_reset": "password_reset",
  "staff.sessions_end": "ended_by_admin",
  "staff.session_end": "ended_elsewhere",
};

/**
 * Why a session that no longer exists was ended, when someone ended it (an administrator disabled the account, reset
 * its password or ended all its sessions; its owner ended it from another session): the audit entry of that change
 * lists the sessions it ended. Null for a session that expired, was signed out, or never was.
 */
export function sessionEndedBy(db: Db, sessionId: string): EndedBy | null {
  const actions = Object.keys(ENDED_BY_ACTION);
  const row = db.$client
    .prepare(
      `select a.action from audit_log a, json_each(a.details, '$.endedSessions') j where a.action in (${actions.map(() => "?").join(", ")}) and j.value = ? order by a.id desc limit 1`,
    )
    .get(...actions, hashSessionId(sessionId)) as { action: string } | undefined;
  return row ? (ENDED_BY_ACTION[row.action] ?? null) : null;
}

/** Ends every session of a staff member but the one given: after a password change, only the session that made it stays. */
export function deleteOtherSessionsOfUser(db: Queryable, staffUserId: number, keepIdHash: string): number {
  return db.delete(staffSessions).where(and(eq(staffSessions.staffUserId, staffUserId), ne(staffSessions.idHash, keepIdHash))).run().changes;
}

export function pruneSessions(db: Db, now: Date, limits: SessionLimits): number {
  return db
    .delete(staffSessions)
    .where(or(lt(staffSessions.expiresAt, now), lt(staffSessions.lastSeenAt, new Date(now.getTime() - limits.idleMs))))
    .run().changes;
}
