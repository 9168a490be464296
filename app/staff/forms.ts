import { z } from "zod";
import { ROLES } from "./permissions";

// C0 controls and DEL: never part of a name, an address or a password a person can type.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export const emailField = z
  .string({ error: "Enter an email address" })
  .trim()
  .min(1, "Enter an email address")
  .max(254, "That email address is too long (254 characters at most)")
  .toLowerCase()
  .pipe(z.email("Enter a valid email address, like name@example.com"));

const hasNoControls = (v: string) => !CONTROL_CHARACTERS.test(v);

export const loginPasswordField = z
  .string({ error: "Enter your password" })
  .min(1, "Enter your password")
  .max(256, "That password is too long")
  .refine(hasNoControls, "Passwords cannot contain control characters (tabs, line breaks and the like)");

export const newPasswordField = z
  .string({ error: "Enter a password" })
  .min(12, "Use at least 12 characters")
  .max(128, "Use at most 128 characters")
  .refine(hasNoControls, "Passwords cannot contain control characters (tabs, line breaks and the like)");

export const nameField = z
  .string({ error: "Enter a name" })
  .trim()
  .min(1, "Enter a name")
  .max(100, "Use at most 100 characters")
  .refine(hasNoControls, "Names cannot contain control characters");

export const roleField = z.enum(ROLES, { error: `Choose a role: ${ROLES.join(", ")}` });

export const loginForm = z.object({ email: emailField, password: loginPasswordField });
/** A new account signs in with a password the admin sets, or through SSO only (no password at all). */
export const newStaffForm = z.preprocess(
  (v) => ({ signIn: "password", ...(v as object) }),
  z.discriminatedUnion("signIn", [
    z.object({ signIn: z.literal("password"), email: emailField, name: nameField, role: roleField, password: newPasswordField }),
    z.object({ signIn: z.literal("sso"), email: emailField, name: nameField, role: roleField }),
  ], { error: "Choose how they sign in: a password, or SSO only" }),
);

export const changePasswordForm = z
  .object({ currentPassword: loginPasswordField, newPassword: newPasswordField, confirmPassword: z.string({ error: "Type the new password again" }) })
  .refine((v) => v.newPassword === v.confirmPassword, { path: ["confirmPassword"], message: "The two new passwords differ" });

export type FieldErrors = Partial<Record<string, string>>;

/**
 * Reads a form against its schema: either the typed values or one message per field, for display beside it.
 * Fields named in `lists` (checkbox groups) arrive as one comma-joined string, "" when none is ticked.
 */
export function parseForm<T extends z.ZodType>(
  schema: T,
  form: FormData,
  lists: readonly string[] = [],
): { ok: true; data: z.infer<T> } | { ok: false; fieldErrors: FieldErrors } {
  const raw: Record<string, unknown> = {};
  for (const [key, value] of form.entries()) if (typeof value === "string" && !lists.includes(key)) raw[key] = value;
  for (const key of lists) raw[key] = form.getAll(key).join(",");
  const result = schema.safeParse(raw);
  if (result.success) return { ok: true, data: result.data };
  const fieldErrors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? "form");
    fieldErrors[key] ??= issue.message;
  }
  return { ok: false, fieldErrors };
}
