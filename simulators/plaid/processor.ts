import { createHash } from "node:crypto";
import type { ProcessorBalanceGetResponse, ProcessorTransactionsGetResponse, ProcessorTransactionsSyncResponse, Transaction } from "plaid";
import type { SimContext } from "./context";
import { fail, invalidInput, invalidRequest, requestId } from "./errors";
import type { SimItem } from "./state";
import { optStr, readFields, str } from "./validate";

// The data plane a processor (Cardlytics) reads through its processor token: the account's transactions and balance.

const DAY = 86_400_000;
const HISTORY_DAYS = 90;
const MERCHANTS: [string, string, string, number][] = [
  ["Starbucks", "FOOD_AND_DRINK", "FOOD_AND_DRINK_COFFEE", 6.33],
  ["Whole Foods Market", "FOOD_AND_DRINK", "FOOD_AND_DRINK_GROCERIES", 84.12],
  ["Uber", "TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES", 21.4],
  ["Shell", "TRANSPORTATION", "TRANSPORTATION_GAS", 42.9],
  ["Target", "GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_SUPERSTORES", 57.25],
  ["Netflix", "ENTERTAINMENT", "ENTERTAINMENT_TV_AND_MOVIES", 15.49],
  ["Chipotle", "FOOD_AND_DRINK", "FOOD_AND_DRINK_FAST_FOOD", 12.85],
];

/** The processor token's Item and account, or Plaid's error: revoked with its Item, or the Item's own error. */
function tokenTarget(ctx: SimContext, processorToken: unknown) {
  const entry = ctx.state.processorTokens.get(str(processorToken));
  const item = entry && ctx.state.items.get(entry.itemId);
  if (!entry || !item || item.removed) invalidInput("INVALID_PROCESSOR_TOKEN", "provided processor token is invalid or has been revoked");
  if (item!.error) fail(item!.error.status, item!.error.error_type, item!.error.error_code, item!.error.error_message, item!.error.display_message);
  const account = item!.accounts.find((a) => a.account_id === entry!.accountId);
  if (!account) fail(400, "ITEM_ERROR", "NO_ACCOUNTS", "the account behind this processor token is no longer shared");
  return { item: item!, account: account! };
}

const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The account's posted transactions up to now: one every day or two from 90 days before the Item was made, the
 * same every time they are read (ids and amounts derive from the account id and the day).
 */
export function accountTransactions(item: SimItem, accountId: string, now: number): Transaction[] {
  const account = item.accounts.find((a) => a.account_id === accountId);
  if (!account || !["depository", "credit"].includes(String(account.type)) || account.subtype === "cd" || account.subtype === "money market") return [];
  const first = Math.floor((item.createdAt - HISTORY_DAYS * DAY) / DAY);
  const last = Math.floor(now / DAY);
  const out: Transaction[] = [];
  for (let day = first; day <= last; day++) {
    const digest = createHash("sha256").update(`${accountId}:${day}`).digest();
    if (digest[0]! % 3 === 0) continue; // about two days in three
    const [merchant, primary, detailed, base] = MERCHANTS[digest[1]! % MERCHANTS.length]!;
    const amount = Math.round(base * (0.6 + (digest[2]! / 255) * 0.8) * 100) / 100;
    const at = day * DAY + 15 * 3600_000;
    out.push({
      account_id: accountId,
      account_owner: null,
      amount,
      iso_currency_code: "USD",
      unofficial_currency_code: null,
      category: null,
      category_id: null,
      check_number: null,
      counterparties: [],
      date: isoDate(at),
      datetime: null,
      authorized_date: isoDate(at),
      authorized_datetime: null,
      location: { address: null, city: null, region: null, postal_code: null, country: null, lat: null, lon: null, store_number: null },
      logo_url: null,
      merchant_entity_id: null,
      merchant_name: merchant,
      name: merchant.toUpperCase(),
      payment_channel: "in store",
      payment_meta: { by_order_of: null, payee: null, payer: null, payment_method: null, payment_processor: null, ppd_id: null, reason: null, reference_number: null },
      pending: false,
      pending_transaction_id: null,
      personal_finance_category: { primary, detailed, confidence_level: "VERY_HIGH" },
      transaction_code: null,
      transaction_id: digest.toString("base64url").replace(/[-_]/g, "x").slice(0, 37),
      transaction_type: "place",
      website: null,
    } as unknown as Transaction);
  }
  return out;
}

// A cursor carries the date up to which transactions were handed out; opaque to clients, as Plaid's are.
const cursorFor = (date: string) => Buffer.from(JSON.stringify({ v: 1, through: date })).toString("base64url");
function readCursor(cursor: string | undefined): string | null {
  if (!cursor) return null;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { through?: unknown };
    if (typeof parsed.through === "string" && /^\d{4}-\d{2}-\d{2}$/.test(parsed.through)) return parsed.through;
  } catch {
    // fall through
  }
  return invalidRequest("INVALID_FIELD", "cursor is not a cursor this endpoint returned");
}

export const processorHandlers = {
  "/processor/transactions/sync": (ctx: SimContext, body: Record<string, unknown>): ProcessorTransactionsSyncResponse => {
    const f = readFields(body, { processor_token: "string" }, { cursor: "string", count: "number", options: "object" });
    const count = (f.count as number | undefined) ?? 100;
    if (!Number.isInteger(count) || count < 1 || count > 500) invalidRequest("INVALID_FIELD", "count must be an integer from 1 to 500");
    const { item, account } = tokenTarget(ctx, f.processor_token);
    const through = readCursor(optStr(f.cursor));
    const fresh = accountTransactions(item, account.account_id, ctx.clock.now()).filter((t) => through === null || t.date > through);
    // Whole days go out together, so a cursor never splits one day's transactions.
    let page = fresh.slice(0, count);
    if (fresh.length > count && fresh[count]!.date === page.at(-1)!.date) {
      const cut = page.at(-1)!.date;
      const whole = page.filter((t) => t.date < cut);
      page = whole.length ? whole : fresh.filter((t) => t.date === cut);
    }
    const last = page.at(-1)?.date ?? through;
    return {
      added: page,
      modified: [],
      removed: [],
      next_cursor: last ? cursorFor(last) : "",
      has_more: fresh.length > page.length,
      account,
      transactions_update_status: "HISTORICAL_UPDATE_COMPLETE",
      request_id: requestId(),
    } as unknown as ProcessorTransactionsSyncResponse;
  },

  "/processor/transactions/get": (ctx: SimContext, body: Record<string, unknown>): ProcessorTransactionsGetResponse => {
    const f = readFields(body, { processor_token: "string", start_date: "string", end_date: "string" }, { options: "object" });
    const date = /^\d{4}-\d{2}-\d{2}$/;
    if (!date.test(str(f.start_date)) || !date.test(str(f.end_date))) invalidRequest("INVALID_FIELD", "start_date and end_date must be dates in YYYY-MM-DD format");
    if (str(f.start_date) > str(f.end_date)) invalidRequest("INVALID_FIELD", "start_date must be on or before end_date");
    const options = readFields((f.options ?? {}) as Record<string, unknown>, {}, { count: "number", offset: "number", include_original_description: "boolean", include_personal_finance_category: "boolean" });
    const count = (options.count as number | undefined) ?? 100;
    const offset = (options.offset as number | undefined) ?? 0;
    if (!Number.isInteger(count) || count < 1 || count > 500) invalidRequest("INVALID_FIELD", "options.count must be an integer from 1 to 500");
    if (!Number.isInteger(offset) || offset < 0) invalidRequest("INVALID_FIELD", "options.offset must be a non-negative integer");
    const { item, account } = tokenTarget(ctx, f.processor_token);
    // Newest first, as /transactions/get returns them.
    const all = accountTransactions(item, account.account_id, ctx.clock.now()).filter((t) => t.date >= str(f.start_date) && t.date <= str(f.end_date)).reverse();
    return { account, transactions: all.slice(offset, offset + count), total_transactions: all.length, request_id: requestId() };
  },

  "/processor/balance/get": (ctx: SimContext, body: Record<string, unknown>): ProcessorBalanceGetResponse => {
    const f = readFields(body, { processor_token: "string" }, { options: "object" });
    const { account } = tokenTarget(ctx, f.processor_token);
    return { account: { ...account, balances: { ...account.balances, last_updated_datetime: new Date(ctx.clock.now()).toISOString() } }, request_id: requestId() } as ProcessorBalanceGetResponse;
  },
};
