import type { SessionMethod } from "../../db/schema";

/** How a session was opened, as the sessions page says it. */
export const SESSION_METHOD_LABELS: Record<SessionMethod, string> = {
  password: "Password",
  "password+totp": "Password and authenticator code",
  "password+recovery_code": "Password and recovery code",
  "password+passkey": "Password and passkey",
  passkey: "Passkey",
  sso: "Single sign-on",
};

/** Why a session was ended by someone else, as the sign-in page of the browser that held it says it. */
export const SESSION_ENDED_NOTICES = {
  disabled: "An administrator ended your session: this account has been disabled. Ask an administrator if you think it should not be.",
  password_reset: "An administrator ended your session by resetting this account's password. Sign in with the new password.",
  ended_by_admin: "An administrator ended every session of this account. Sign in again to go on; ask an administrator if you do not know why.",
  ended_elsewhere: "This session was ended from another of your sessions (Your sessions). Sign in again to go on.",
} as const;

export type SessionEndedBy = keyof typeof SESSION_ENDED_NOTICES;
