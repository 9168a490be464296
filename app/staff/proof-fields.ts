// The form fields of a second-factor proof, shared by the server check and the page component.

/** The intent that asks the page's action for a fresh passkey challenge (JSON: `{ passkey: { flowId, options } }`). */
export const PASSKEY_OPTIONS_INTENT = "passkey-options";
/** The field that carries the id of the challenge's flow. */
export const PASSKEY_FLOW_FIELD = "passkeyFlow";
/** The field that carries the browser's answer, as JSON. */
export const PASSKEY_RESPONSE_FIELD = "passkeyResponse";
