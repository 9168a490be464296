import { data } from "@remix-run/node";
import type { AppContext } from "../context";
import { PlaidCallError, type PlaidFailure } from "./client.server";
import { plaidErrorHelp } from "./error-help";

/** Sandbox-only tools are refused on the server in production, not just hidden. */
export function requireSandbox(context: Pick<AppContext, "config">): void {
  if (context.config.plaid.env === "production") {
    throw new Response("Plaid sandbox tools are not available in production.", { status: 403, statusText: "Sandbox only" });
  }
}

export type ShownPlaidError = PlaidFailure & { help: string };

/** A stored token Linkdesk refused to use (it does not belong to its row), shown where Plaid's answer would be. */
export function storedTokenRefusal(message: string, help: string): ShownPlaidError {
  return { httpStatus: null, errorType: "LINKDESK", errorCode: "STORED_TOKEN_REFUSED", errorMessage: message, displayMessage: null, requestId: null, help };
}

/** A Plaid failure as the page shows it, with the HTTP status that fits: 4xx stays 4xx, a vendor fault is a 502. */
export function plaidErrorResponse(error: unknown) {
  if (!(error instanceof PlaidCallError)) throw error;
  const f = error.failure;
  const status = f.httpStatus === 429 ? 429 : f.httpStatus !== null && f.httpStatus < 500 ? 400 : 502;
  return data({ ok: false as const, plaidError: { ...f, help: plaidErrorHelp(f.errorCode) } satisfies ShownPlaidError }, { status });
}
