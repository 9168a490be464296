import { header, type SimRequest, type SimResponse } from "../shared/http";
import { uuid } from "../shared/ids";
import type { SimAccount } from "./state";

export type ValidationError = { field: string; message: string };

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** Cardlytics' error envelope (the v2 problem shape); requestId is added on the way out. */
export function problem(status: number, type: string, validationErrors?: ValidationError[]): SimResponse {
  return { status, body: { type, title: TITLES[status] ?? "Error", status, ...(validationErrors ? { validationErrors } : {}) } };
}

/** Thrown from deep inside a handler to answer with a problem at once. */
export class Refusal extends Error {
  constructor(readonly response: SimResponse) {
    super(`refused with ${response.status}`);
  }
}

export function refuse(status: number, type: string, validationErrors?: ValidationError[]): never {
  throw new Refusal(problem(status, type, validationErrors));
}

export function invalid(field: string, message: string): never {
  refuse(400, "ValidationException", [{ field, message }]);
}

/** The documented 200 body of GET /v2/data/accountLink: expirationDate goes out as a string of epoch ms. */
export function accountLinkBody(accounts: SimAccount[], missingFiLogo: null | "" = null) {
  return {
    accountLinks: [],
    accounts: accounts.map((a) => ({
      accountId: a.accountId,
      status: a.status,
      last4: a.last4,
      cardType: a.cardType,
      name: a.name,
      linkedDate: a.linkedDate,
      expirationDate: String(a.expirationDate),
      fiName: a.fiName,
      fiLogo: a.fiLogo ?? missingFiLogo,
    })),
  };
}

// Anything a client can put in a header is echoed back, within reason; otherwise it gets a fresh id.
const ECHOABLE = /^[\x21-\x7e]{1,200}$/;

/** Every answer carries a requestId, in the JSON body and as a header: the caller's X-CDLX-Request-Id when it sent one. */
export function withRequestId(req: SimRequest, res: SimResponse): SimResponse {
  const sent = header(req, "x-cdlx-request-id");
  const requestId = sent && ECHOABLE.test(sent) ? sent : uuid();
  const body = res.body && typeof res.body === "object" ? { ...res.body, requestId } : res.body;
  return { ...res, body, headers: { ...res.headers, "x-cdlx-request-id": requestId } };
}
