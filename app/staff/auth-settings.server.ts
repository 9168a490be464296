import { eq } from "drizzle-orm";
import type { Queryable } from "../../db/open";
import { authSettings } from "../../db/schema";
import { isRole, type Role } from "./permissions";

export type AuthSettings = {
  /** Roles whose password accounts must have a second factor (TOTP or a passkey) before anything else opens. */
  mfaRequiredRoles: Role[];
  /** Everyone signs in through SSO, except the break-glass account. */
  ssoRequired: boolean;
  /** The one password account that may still sign in with a password when SSO is required. */
  breakGlassStaffId: number | null;
};

// The row a migration inserts; read as this if it were ever missing.
export const DEFAULT_AUTH_SETTINGS: AuthSettings = { mfaRequiredRoles: ["admin", "ops"], ssoRequired: false, breakGlassStaffId: null };

export function getAuthSettings(db: Queryable): AuthSettings {
  const row = db.select().from(authSettings).where(eq(authSettings.id, 1)).get();
  if (!row) return DEFAULT_AUTH_SETTINGS;
  return { mfaRequiredRoles: row.mfaRequiredRoles.filter(isRole), ssoRequired: row.ssoRequired, breakGlassStaffId: row.breakGlassStaffId };
}

/** Writes the policy; auditing the change is the caller's, in the same transaction. */
export function saveAuthSettings(db: Queryable, settings: AuthSettings, input: { by: number | null; now: Date }): void {
  const values = { ...settings, updatedAt: input.now, updatedBy: input.by };
  db.insert(authSettings)
    .values({ id: 1, ...values })
    .onConflictDoUpdate({ target: authSettings.id, set: values })
    .run();
}
