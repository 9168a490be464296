import type { SimResponse } from "../shared/http";
import { alphanumeric } from "../shared/ids";

export const requestId = () => alphanumeric(15);

export type PlaidErrorBody = {
  display_message: string | null;
  documentation_url: string;
  error_code: string;
  error_message: string;
  error_type: string;
  request_id: string;
  suggested_action: null;
  causes?: unknown[];
};

/** Plaid's error object, with its keys in the order the real API sends them. */
export function plaidError(
  status: number,
  errorType: string,
  errorCode: string,
  message: string,
  displayMessage: string | null = null,
  extra: { causes?: unknown[] } = {},
): SimResponse {
  const body: PlaidErrorBody = {
    display_message: displayMessage,
    documentation_url: `https://plaid.com/docs/?ref=error#${errorType.toLowerCase().replaceAll("_", "-")}-errors`,
    error_code: errorCode,
    error_message: message,
    error_type: errorType,
    request_id: requestId(),
    suggested_action: null,
    ...extra,
  };
  return { status, body };
}

export class PlaidFailure extends Error {
  constructor(public readonly response: SimResponse) {
    super(String((response.body as PlaidErrorBody).error_code));
  }
}

export const fail = (...args: Parameters<typeof plaidError>): never => {
  throw new PlaidFailure(plaidError(...args));
};

export const invalidRequest = (code: string, message: string) => fail(400, "INVALID_REQUEST", code, message);
export const invalidInput = (code: string, message: string) => fail(400, "INVALID_INPUT", code, message);

/** Item and institution errors a `error_<CODE>` sandbox password can force, with their documented types. */
export const FORCEABLE_ERRORS: Record<string, { type: string; status: number; message: string; display: string | null }> = {
  INVALID_CREDENTIALS: { type: "ITEM_ERROR", status: 400, message: "the provided credentials were not correct", display: "The provided credentials were not correct. Please try again." },
  INVALID_MFA: { type: "ITEM_ERROR", status: 400, message: "the provided MFA response(s) were not correct", display: "The provided MFA responses were not correct. Please try again." },
  ITEM_LOCKED: { type: "ITEM_ERROR", status: 400, message: "the account is locked. prompt the user to visit the institution's site and unlock their account", display: "The given credentials belong to a locked account. Please reset your credentials and try again." },
  ITEM_NOT_SUPPORTED: { type: "ITEM_ERROR", status: 400, message: "this account is currently not supported", display: "The given account is not currently supported for this financial institution." },
  USER_SETUP_REQUIRED: { type: "ITEM_ERROR", status: 400, message: "the account has not been fully set up. prompt the user to visit the issuing institution's site and finish the setup process", display: "The given account requires additional setup with your financial institution." },
  NO_ACCOUNTS: { type: "ITEM_ERROR", status: 400, message: "no valid accounts were found for this item", display: "No valid accounts were found at the financial institution." },
  ITEM_LOGIN_REQUIRED: { type: "ITEM_ERROR", status: 400, message: "the login details of this item have changed (credentials, MFA, or required user action) and a user login is required to update this information", display: null },
  INSTITUTION_DOWN: { type: "INSTITUTION_ERROR", status: 400, message: "this institution is not currently responding to this request. please try again soon", display: "This financial institution is not currently responding to requests. We apologize for the inconvenience." },
  INSTITUTION_NOT_RESPONDING: { type: "INSTITUTION_ERROR", status: 400, message: "this institution is not currently responding to this request. please try again soon", display: "This financial institution is not currently responding to requests. We apologize for the inconvenience." },
  INSTITUTION_NOT_AVAILABLE: { type: "INSTITUTION_ERROR", status: 400, message: "this institution is not currently responding to this request. please try again soon", display: null },
  INTERNAL_SERVER_ERROR: { type: "API_ERROR", status: 500, message: "an unexpected error occurred", display: null },
  PLANNED_MAINTENANCE: { type: "API_ERROR", status: 503, message: "the Plaid API is temporarily unavailable due to planned maintenance. visit https://status.plaid.com/ for more information", display: null },
};
