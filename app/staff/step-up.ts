/** The form field that carries a step-up's grant when the waiting action's form is sent again (app/staff/step-up.server.ts). */
export const STEP_UP_GRANT_FIELD = "_stepUpGrant";
