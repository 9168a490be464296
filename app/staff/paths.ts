/** Where a staff member changes their password; a one-time password's holder is sent here from every page. */
export const CHANGE_PASSWORD_PATH = "/account/password";
/** Where a staff member sees their active sessions and ends any of them. */
export const SESSIONS_PATH = "/account/sessions";
/** Where a staff member manages their second factors; one who must enroll is sent here from every page. */
export const SECURITY_PATH = "/account/security";
/** Where the second factor is asked for after the password. */
export const SECOND_FACTOR_PATH = "/login/verify";
/** Where a fresh proof of identity is asked for before a sensitive action. */
export const STEP_UP_PATH = "/auth/step-up";
/** Single sign-on: the start of the authorization and the provider's redirect back. */
export const SSO_START_PATH = "/auth/sso";
export const SSO_CALLBACK_PATH = "/auth/sso/callback";
/** Re-authentication at the identity provider before a sensitive action (GET link or POST form), then on to `redirectTo`. */
export const ssoStepUpHref = (redirectTo: string) => `${SSO_START_PATH}?${new URLSearchParams({ purpose: "step-up", redirectTo })}`;
