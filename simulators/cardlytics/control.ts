import { randomBytes } from "node:crypto";
import type { SimClock } from "../shared/clock";
import { safeJson, type SimRequest, type SimResponse } from "../shared/http";
import type { SeededCustomer } from "./seed";
import type { CardlyticsState, SimAccount } from "./state";

export const CUSTOMER_HASH = /^[0-9a-f]{64}$/;
const DAY = 86_400_000;
const TEXT_FIELDS = ["accountId", "status", "last4", "cardType", "name", "fiName", "fiLogo"] as const;
const KNOWN_FIELDS = new Set<string>([...TEXT_FIELDS, "linkedDate", "expirationDate"]);
const USAGE = 'send {"customerId": "<64 lowercase hex>", "accounts": [{"status", "expirationDate" (epoch ms), "last4", ...}]}';

class BadInput extends Error {}

function readAccount(value: unknown, index: number, now: number): SimAccount {
  const at = `accounts[${index}]`;
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new BadInput(`${at} is an object`);
  const a = value as Record<string, unknown>;
  for (const key of Object.keys(a)) if (!KNOWN_FIELDS.has(key)) throw new BadInput(`${at}: unknown field "${key}"`);
  for (const key of TEXT_FIELDS) if (a[key] !== undefined && typeof a[key] !== "string" && !(key === "fiLogo" && a[key] === null)) throw new BadInput(`${at}.${key} is a string`);
  if (a.accountId === "" || a.status === "") throw new BadInput(`${at}: accountId and status cannot be empty`);
  const linked = a.linkedDate === undefined ? now : typeof a.linkedDate === "string" ? Date.parse(a.linkedDate) : NaN;
  if (Number.isNaN(linked)) throw new BadInput(`${at}.linkedDate is an ISO-8601 date`);
  if (a.expirationDate !== undefined && !Number.isSafeInteger(a.expirationDate)) {
    throw new BadInput(`${at}.expirationDate is epoch milliseconds, as a number`);
  }
  return {
    accountId: randomBytes(12).toString("hex"),
    status: "OPEN",
    last4: "0000",
    cardType: "checking",
    name: "Everyday Checking",
    expirationDate: now + 365 * DAY,
    fiName: "First Platypus Bank",
    fiLogo: null,
    ...(a as Partial<SimAccount>),
    linkedDate: new Date(linked).toISOString(),
  };
}

function replaceAccounts(state: CardlyticsState, req: SimRequest, now: number): SimResponse {
  const body = safeJson(req.rawBody) as { customerId?: unknown; accounts?: unknown } | undefined;
  if (!body || typeof body !== "object" || typeof body.customerId !== "string" || !CUSTOMER_HASH.test(body.customerId)) {
    return { status: 400, body: { error: `customerId must be 64 lowercase hex characters; ${USAGE}` } };
  }
  if (!Array.isArray(body.accounts)) return { status: 400, body: { error: `accounts must be a list; ${USAGE}` } };
  try {
    const accounts = body.accounts.map((a: unknown, i) => readAccount(a, i, now));
    if (new Set(accounts.map((a) => a.accountId)).size !== accounts.length) throw new BadInput("accountIds must be distinct");
    state.customers.set(body.customerId, accounts);
    return { status: 200, body: { customerId: body.customerId, accounts } };
  } catch (error) {
    if (error instanceof BadInput) return { status: 400, body: { error: error.message } };
    throw error;
  }
}

/** /__sim/cardlytics/customers: GET dumps the customer store, POST adds or replaces one customer's accounts. */
export function customerControl(state: CardlyticsState, clock: SimClock, seeded: SeededCustomer[]) {
  return (req: SimRequest): SimResponse | undefined => {
    if (req.path !== "/__sim/cardlytics/customers") return undefined;
    if (req.method === "GET") return { status: 200, body: { customers: Object.fromEntries(state.customers), seeded } };
    if (req.method === "POST") return replaceAccounts(state, req, clock.now());
    return { status: 405, body: { error: "GET or POST" }, headers: { allow: "GET, POST" } };
  };
}
