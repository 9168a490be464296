import { and, asc, count, eq, isNull, ne, sql } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { staffUsers } from "../../db/schema";
import { recordAudit, type Actor } from "./audit.server";
import { hashPassword, verifyPassword } from "./password.server";
import type { Role } from "./permissions";
import { deleteOtherSessionsOfUser, endSessionsOfUser } from "./sessions.server";

export type StaffChangeContext = { actor: NonNullable<Actor>; clientAddress: string; now: Date };

export class StaffRuleError extends Error {
  constructor(
    message: string,
    public readonly field?: string,
  ) {
    super(message);
    this.name = "StaffRuleError";
  }
}

const listColumns = {
  id: staffUsers.id,
  email: staffUsers.email,
  name: staffUsers.name,
  role: staffUsers.role,
  disabledAt: staffUsers.disabledAt,
  lastLoginAt: staffUsers.lastLoginAt,
  createdAt: staffUsers.createdAt,
  passwordChangedAt: staffUsers.passwordChangedAt,
  mustChangePassword: staffUsers.mustChangePassword,
  ssoLinked: sql<number>`${staffUsers.ssoSubject} is not null`.mapWith(Boolean),
  hasPassword: sql<number>`${staffUsers.passwordHash} <> ''`.mapWith(Boolean),
};

export function listStaff(db: Db) {
  return db.select(listColumns).from(staffUsers).orderBy(asc(staffUsers.email)).all();
}

export function getStaff(db: Queryable, id: number) {
  return db.select(listColumns).from(staffUsers).where(eq(staffUsers.id, id)).get();
}

export function findStaffByEmail(db: Db, email: string) {
  return db.select().from(staffUsers).where(eq(staffUsers.email, email)).get();
}

export async function createStaff(
  db: Db,
  input: { email: string; name: string; role: Role; password?: string },
  ctx: StaffChangeContext,
): Promise<number> {
  // Without a password the account signs in through SSO only: '' is a hash no password matches.
  const passwordHash = input.password === undefined ? "" : await hashPassword(input.password);
  return db.transaction((tx) => {
    if (tx.select({ id: staffUsers.id }).from(staffUsers).where(eq(staffUsers.email, input.email)).get()) {
      throw new StaffRuleError("A staff account with this email already exists", "email");
    }
    const { id } = tx
      .insert(staffUsers)
      .values({
        email: input.email,
        name: input.name,
        role: input.role,
        passwordHash,
        passwordChangedAt: ctx.now,
        createdAt: ctx.now,
        updatedAt: ctx.now,
      })
      .returning({ id: staffUsers.id })
      .get();
    recordAudit(tx, {
      actor: ctx.actor,
      action: "staff.create",
      targetType: "staff",
      targetId: id,
      clientAddress: ctx.clientAddress,
      details: { email: input.email, role: input.role, ...(input.password === undefined ? { signIn: "sso" } : {}) },
      at: ctx.now,
    });
    return id;
  });
}

function otherActiveAdmins(db: Queryable, id: number): number {
  return (
    db
      .select({ n: count() })
      .from(staffUsers)
      .where(and(eq(staffUsers.role, "admin"), isNull(staffUsers.disabledAt), ne(staffUsers.id, id)))
      .get()?.n ?? 0
  );
}

function requireTarget(db: Queryable, id: number) {
  const target = getStaff(db, id);
  if (!target) throw new StaffRuleError("No staff account with that id");
  return target;
}

export function setStaffDisabled(db: Db, id: number, disabled: boolean, ctx: StaffChangeContext): void {
  db.transaction((tx) => {
    const target = requireTarget(tx, id);
    if (disabled && id === ctx.actor.id) throw new StaffRuleError("You cannot disable your own account");
    if (disabled && target.role === "admin" && otherActiveAdmins(tx, id) === 0) {
      throw new StaffRuleError("This is the last active admin; make someone else admin first");
    }
    if (Boolean(target.disabledAt) === disabled) return;
    tx.update(staffUsers)
      .set({ disabledAt: disabled ? ctx.now : null, updatedAt: ctx.now })
      .where(eq(staffUsers.id, id))
      .run();
    const endedSessions = disabled ? endSessionsOfUser(tx, id) : [];
    recordAudit(tx, {
      actor: ctx.actor,
      action: disabled ? "staff.disable" : "staff.enable",
      targetType: "staff",
      targetId: id,
      clientAddress: ctx.clientAddress,
      details: { email: target.email, sessionsEnded: endedSessions.length, endedSessions },
      at: ctx.now,
    });
  });
}

export function changeStaffRole(db: Db, id: number, role: Role, ctx: StaffChangeContext): void {
  db.transaction((tx) => {
    const target = requireTarget(tx, id);
    if (target.role === role) return;
    if (target.role === "admin" && !target.disabledAt && otherActiveAdmins(tx, id) === 0) {
      throw new StaffRuleError("This is the last active admin; make someone else admin first", "role");
    }
    tx.update(staffUsers).set({ role, updatedAt: ctx.now }).where(eq(staffUsers.id, id)).run();
    recordAudit(tx, {
      actor: ctx.actor,
      action: "staff.role_change",
      targetType: "staff",
      targetId: id,
      clientAddress: ctx.clientAddress,
      details: { email: target.email, from: target.role, to: role },
      at: ctx.now,
    });
  });
}

/** Sets a new password and ends every session of that account, so whoever held the old one is signed out. */
export async function resetStaffPassword(db: Db, id: number, password: string, ctx: StaffChangeContext): Promise<void> {
  const passwordHash = await hashPassword(password);
  db.transaction((tx) => {
    const target = requireTarget(tx, id);
    tx.update(staffUsers)
      .set({ passwordHash, passwordChangedAt: ctx.now, updatedAt: ctx.now })
      .where(eq(staffUsers.id, id))
      .run();
    const endedSessions = endSessionsOfUser(tx, id);
    recordAudit(tx, {
      actor: ctx.actor,
      action: "staff.password_reset",
      targetType: "staff",
      targetId: id,
      clientAddress: ctx.clientAddress,
      details: { email: target.email, sessionsEnded: endedSessions.length, endedSessions },
      at: ctx.now,
    });
  });
}

export type OwnPasswordChange = { currentPassword: string; newPassword: string };

/**
 * A staff member changes their own password: the current one must match, the new one must differ from it. It clears
 * a one-time password's must-change flag and ends the account's other sessions (the one making the change stays).
 */
export async function changeOwnPassword(
  db: Db,
  self: { id: number; sessionIdHash: string },
  input: OwnPasswordChange,
  ctx: StaffChangeContext,
): Promise<void> {
  const row = db.select({ passwordHash: staffUsers.passwordHash, email: staffUsers.email, mustChangePassword: staffUsers.mustChangePassword }).from(staffUsers).where(eq(staffUsers.id, self.id)).get();
  if (!row) throw new StaffRuleError("No staff account with that id");
  if (!(await verifyPassword(input.currentPassword, row.passwordHash))) throw new StaffRuleError("That is not your current password", "currentPassword");
  if (input.newPassword === input.currentPassword) throw new StaffRuleError("Choose a password different from the current one", "newPassword");
  const passwordHash = await hashPassword(input.newPassword);
  db.transaction((tx) => {
    tx.update(staffUsers)
      .set({ passwordHash, passwordChangedAt: ctx.now, mustChangePassword: false, updatedAt: ctx.now })
      .where(eq(staffUsers.id, self.id))
      .run();
    const sessionsEnded = deleteOtherSessionsOfUser(tx, self.id, self.sessionIdHash);
    recordAudit(tx, {
      actor: ctx.actor,
      action: "staff.password_change",
      targetType: "staff",
      targetId: self.id,
      clientAddress: ctx.clientAddress,
      details: { email: row.email, oneTimePasswordReplaced: row.mustChangePassword, sessionsEnded },
      at: ctx.now,
    });
  });
}
