/** Where a staff member changes their password; a one-time password's holder is sent here from every page. */
export const CHANGE_PASSWORD_PATH = "/account/password";
