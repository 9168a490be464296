import { randomBytes } from "node:crypto";
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../../db/open";
import { staffUsers } from "../../db/schema";
import { recordAudit } from "./audit.server";
import { emailField, nameField } from "./forms";
import { hashPassword } from "./password.server";
import { endSessionsOfUser } from "./sessions.server";

export class FirstAdminRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FirstAdminRefused";
  }
}

export type FirstAdminInput = { email: string; name?: string; force: boolean };
export type FirstAdminResult = { id: number; email: string; oneTimePassword: string; replaced: boolean };

/** 24 characters from 18 random bytes: 144 bits, typed once and replaced at the first sign-in. */
export const generateOneTimePassword = () => randomBytes(18).toString("base64url");

/**
 * The deployer's way in (`npm run create-admin`): an admin account with a one-time password that must be changed at
 * the first sign-in. Refused while an active admin exists, and refused for an email that already has an account,
 * unless forced; forced on an existing account, it makes that account an enabled admin with a new one-time password
 * and ends its sessions (the way back in for a team that locked itself out). Audited, with the host and user that ran it.
 */
export async function createFirstAdmin(db: Db, input: FirstAdminInput, ctx: { ranBy: string; now: Date }): Promise<FirstAdminResult> {
  const email = emailField.safeParse(input.email);
  if (!email.success) throw new FirstAdminRefused(`--email: ${email.error.issues[0]!.message}`);
  const name = nameField.safeParse(input.name ?? email.data.split("@")[0]);
  if (!name.success) throw new FirstAdminRefused(`--name: ${name.error.issues[0]!.message}`);
  const oneTimePassword = generateOneTimePassword();
  const passwordHash = await hashPassword(oneTimePassword);
  return db.transaction((tx) => {
    const admin = tx.select({ email: staffUsers.email }).from(staffUsers).where(and(eq(staffUsers.role, "admin"), isNull(staffUsers.disabledAt))).get();
    if (admin && !input.force) {
      throw new FirstAdminRefused(`An active admin already exists (${admin.email}); nothing was changed. Admins add staff from /admin/staff. To create or restore an admin anyway, run again with --force.`);
    }
    const existing = tx.select({ id: staffUsers.id, role: staffUsers.role }).from(staffUsers).where(eq(staffUsers.email, email.data)).get();
    if (existing && !input.force) {
      throw new FirstAdminRefused(`A staff account with the email ${email.data} already exists; nothing was changed. Run again with --force to make it an admin with a new one-time password.`);
    }
    const values = { role: "admin", passwordHash, passwordChangedAt: ctx.now, mustChangePassword: true, disabledAt: null, updatedAt: ctx.now };
    let id: number;
    let sessionsEnded = 0;
    if (existing) {
      id = existing.id;
      tx.update(staffUsers).set(values).where(eq(staffUsers.id, id)).run();
      sessionsEnded = endSessionsOfUser(tx, id).length;
    } else {
      id = tx.insert(staffUsers).values({ ...values, email: email.data, name: name.data, createdAt: ctx.now }).returning({ id: staffUsers.id }).get().id;
    }
    recordAudit(tx, {
      actor: null,
      action: existing ? "staff.admin_restored" : "staff.create",
      targetType: "staff",
      targetId: id,
      clientAddress: ctx.ranBy,
      details: { email: email.data, role: "admin", via: "create-admin command", force: input.force, ...(existing ? { previousRole: existing.role, sessionsEnded } : {}) },
      at: ctx.now,
    });
    return { id, email: email.data, oneTimePassword, replaced: Boolean(existing) };
  });
}
