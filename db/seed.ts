import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "./open";
import { staffUsers } from "./schema";
import { hashPassword } from "../app/staff/password.server";
import { ROLES, type Role } from "../app/staff/permissions";

export type DemoLogin = { role: Role; email: string; name: string; password: string };

const NAMES: Record<Role, string> = {
  support: "Sam Support",
  ops: "Olive Ops",
  pm: "Pat Product",
  admin: "Ada Admin",
};

export function demoEmail(role: Role): string {
  return `${role}@linkdesk.test`;
}

/** Passwords for the demo accounts: random per installation, kept beside the database so they survive restarts. */
export function newDemoLogins(): DemoLogin[] {
  return ROLES.map((role) => ({
    role,
    email: demoEmail(role),
    name: NAMES[role],
    password: `${role}-${randomBytes(9).toString("base64url")}`,
  }));
}

/** Creates the demo accounts that are missing; existing ones (and any password an admin changed) are left alone. */
export async function seedDemoStaff(db: Db, logins: DemoLogin[], now = new Date()): Promise<number> {
  let created = 0;
  for (const login of logins) {
    if (db.select({ id: staffUsers.id }).from(staffUsers).where(eq(staffUsers.email, login.email)).get()) continue;
    db.insert(staffUsers)
      .values({
        email: login.email,
        name: login.name,
        role: login.role,
        passwordHash: await hashPassword(login.password),
        passwordChangedAt: now,
        createdAt: now,
        updatedAt: now,
      })
      .run();
    created++;
  }
  return created;
}
