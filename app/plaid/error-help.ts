// What a Plaid error code means for the person looking at it, and what to do next.
const HELP: Record<string, string> = {
  INVALID_API_KEYS: "Plaid does not recognise our client id or secret for this environment. Check PLAID_CLIENT_ID, PLAID_SECRET and PLAID_ENV.",
  INVALID_PUBLIC_TOKEN: "The public token is unknown, already exchanged, or older than 30 minutes. Mint a new one.",
  INVALID_ACCESS_TOKEN: "Plaid does not know this item's access token (wrong environment, or it was removed).",
  INVALID_ACCOUNT_ID: "That account does not belong to this item. Pick one of the item's own accounts.",
  INVALID_INSTITUTION: "Plaid does not know that institution id. Pick one from the list.",
  INVALID_CREDENTIALS: "The test persona's password was wrong. user_good needs pass_good; user_bank_income needs {}.",
  ITEM_LOCKED: "The bank locked the account (forced by the error_ITEM_LOCKED persona). The customer must unlock it at the bank.",
  ITEM_LOGIN_REQUIRED: "The customer must log in again through Link update mode; until then Cardlytics receives nothing.",
  ITEM_NOT_FOUND: "The item was removed. Its access token and every processor token made from it no longer work.",
  INSTITUTION_DOWN: "The bank is not answering Plaid right now. Try again later.",
  INSTITUTION_NOT_RESPONDING: "The bank is not answering Plaid right now. Try again later.",
  PRODUCTS_NOT_SUPPORTED: "This institution does not offer one of the chosen products. Choose fewer products or another bank.",
  INVALID_PROCESSOR_TOKEN: "The processor token is unknown or was revoked by removing its item.",
  SANDBOX_WEBHOOK_INVALID: "The item has no webhook URL. Set one before firing a sandbox webhook.",
  SANDBOX_PRODUCT_NOT_ENABLED: "The item lacks the product this webhook belongs to.",
  RATE_LIMIT: "Plaid's rate limit was hit. Wait a minute and try again.",
  RATE_LIMIT_EXCEEDED: "Plaid's rate limit was hit. Wait a minute and try again.",
  INTERNAL_SERVER_ERROR: "Plaid had an internal error. It is safe to try again; quote the request id if it persists.",
  PLANNED_MAINTENANCE: "Plaid is down for planned maintenance. Try again later.",
  TIMEOUT: "Plaid did not answer in time. Nothing was stored; try again.",
  UNREACHABLE: "Plaid could not be reached. Check PLAID_BASE_URL and the network.",
  INVALID_FIELD: "A field was refused by Plaid; the message names it.",
  MISSING_FIELDS: "A required field was missing; the message names it.",
};

export function plaidErrorHelp(code: string): string {
  return HELP[code] ?? "See Plaid's error reference for this code, and quote the request id when asking Plaid support.";
}
