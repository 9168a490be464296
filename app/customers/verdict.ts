import { classifyAccount } from "../cardlytics/expiry";
import type { CardlyticsAccount, FailureReason } from "../cardlytics/client.server";
import { plural } from "../lib/plural";

// "Can this customer earn cash-back?" One cause, one next step. Inputs grow as capabilities land: Plaid items and
// their webhooks are optional so the verdict works with whatever is known.

export type PlaidItemSignal = { itemId: string; institution: string | null; status: "active" | "login-required" | "pending-disconnect" | "permission-revoked" | "removed" };

export type VerdictInput = {
  now: number;
  expiringWithinDays: number;
  mockData: boolean;
  cardlytics:
    | { outcome: "linked"; accounts: CardlyticsAccount[] }
    | { outcome: "none" }
    | { outcome: "failed"; reason: FailureReason; requestId: string }
    | { outcome: "unknown" };
  items?: PlaidItemSignal[];
  /** Processor tokens the publisher (or ops) connected at Cardlytics successfully, for this customer. */
  connectedProcessorTokens?: number;
  /** Plaid refused a Cardlytics processor token for this customer with INVALID_PRODUCT, and none was made since. */
  cardlyticsIntegrationRefused?: { requestId: string | null } | null;
};

export type VerdictCode =
  | "mock-data"
  | "credentials-rejected"
  | "cardlytics-unreachable"
  | "item-removed"
  | "item-permission-revoked"
  | "item-login-required"
  | "item-pending-disconnect"
  | "no-linked-account"
  | "cardlytics-integration-off"
  | "connected-under-another-id"
  | "not-open"
  | "expired"
  | "expiring-soon"
  | "earning"
  | "never-checked";

export type Verdict = { answer: "yes" | "at-risk" | "no" | "unknown"; code: VerdictCode; cause: string; nextStep: string };

const DAY = 86_400_000;
const days = (ms: number) => Math.max(0, Math.round(ms / DAY));
const account = (a: CardlyticsAccount) => `${a.fiName ?? "the bank"} ••${a.last4 ?? "??"}`;

export function verdictFor(input: VerdictInput): Verdict {
  const { cardlytics } = input;
  if (input.mockData) {
    return { answer: "unknown", code: "mock-data", cause: "Cardlytics mock data is on: these are canned accounts, not this customer's.", nextStep: "Turn mock data off to see the customer's real link status." };
  }
  if (cardlytics.outcome === "failed") {
    if (cardlytics.reason === "credentials-rejected") {
      return { answer: "unknown", code: "credentials-rejected", cause: "Cardlytics rejected our credentials (startSession answered 500), so no customer can be checked.", nextStep: "Check CARDLYTICS_CLIENT_ID, CARDLYTICS_SECRET and the base URL for this environment; escalate to Cardlytics with the request id if they are right." };
    }
    return { answer: "unknown", code: "cardlytics-unreachable", cause: `Cardlytics could not be asked just now (${cardlytics.reason.replace("-", " ")}). What is shown is the last known state.`, nextStep: `Try again in a minute; if it persists, escalate to Cardlytics with request id ${cardlytics.requestId}.` };
  }
  const items = input.items ?? [];
  const removed = items.find((i) => i.status === "removed");
  const revoked = items.find((i) => i.status === "permission-revoked");
  const login = items.find((i) => i.status === "login-required");
  const disconnect = items.find((i) => i.status === "pending-disconnect");
  const hasActiveItem = items.some((i) => i.status === "active");
  if (removed && !hasActiveItem) {
    return { answer: "no", code: "item-removed", cause: "The customer's Plaid item was removed, which revoked the processor token Cardlytics reads.", nextStep: "Ask the customer to link their bank again through Plaid, then send the new processor token to Cardlytics." };
  }
  if (revoked) {
    return { answer: "no", code: "item-permission-revoked", cause: "The customer revoked Plaid's access to their bank (USER_PERMISSION_REVOKED).", nextStep: "Ask the customer to link their bank again if they want to keep earning cash-back." };
  }
  if (login) {
    return { answer: "at-risk", code: "item-login-required", cause: "The customer's Plaid item needs them to log in again (ITEM_LOGIN_REQUIRED); Cardlytics stops receiving transactions.", nextStep: "Ask the customer to reconnect their bank in the app (Link update mode)." };
  }
  if (cardlytics.outcome === "unknown") {
    return { answer: "unknown", code: "never-checked", cause: "Cardlytics has not been asked about this customer yet.", nextStep: "Check the account link now." };
  }
  if (cardlytics.outcome === "none" && input.cardlyticsIntegrationRefused) {
    const rid = input.cardlyticsIntegrationRefused.requestId;
    return { answer: "no", code: "cardlytics-integration-off", cause: `Plaid refused to make a processor token for Cardlytics (INVALID_PRODUCT${rid ? `, request id ${rid}` : ""}): the Cardlytics integration is not enabled for our Plaid client, so Cardlytics has nothing to read for any customer.`, nextStep: "A Plaid Dashboard admin enables Cardlytics under Integrations; then create the processor token again and send it to Cardlytics." };
  }
  if (cardlytics.outcome === "none" && (input.connectedProcessorTokens ?? 0) > 0) {
    return { answer: "no", code: "connected-under-another-id", cause: "A processor token was connected at Cardlytics for this customer, yet Cardlytics holds no account under this customer hash (204). Cardlytics takes any x-source-customer-id without complaint, so the connection was most likely made under another id: a raw id, uppercase hex, or a hash under another key (or the account was unlinked at Cardlytics since).", nextStep: "Compare the hash the backend sent when connecting with this one (the rule: lowercase hex HMAC-SHA-256 of the trimmed internal id); reconnect the processor token under this hash." };
  }
  if (cardlytics.outcome === "none") {
    return { answer: "no", code: "no-linked-account", cause: "Cardlytics holds no linked account under this customer hash (204).", nextStep: "Ask the customer to link a card; if they say they did, check that the app hashes their id with the same key and rule (wrong key, case or a raw id all land on another hash)." };
  }
  const classified = cardlytics.accounts.map((a) => ({ a, state: classifyAccount(a, input.now, input.expiringWithinDays) }));
  const active = classified.filter((c) => c.state === "active");
  const expiring = classified.filter((c) => c.state === "expiring").sort((x, y) => x.a.expirationDate! - y.a.expirationDate!);
  const expired = classified.filter((c) => c.state === "expired");
  if (active.length) {
    if (disconnect) return { answer: "at-risk", code: "item-pending-disconnect", cause: "Plaid warned that the customer's item will disconnect soon (PENDING_DISCONNECT).", nextStep: "Ask the customer to reconnect their bank before the disconnect time." };
    return { answer: "yes", code: "earning", cause: `${account(active[0]!.a)} is linked and OPEN.`, nextStep: "Nothing to fix. If rewards are missing, look at the offer's activation and the redemption events." };
  }
  if (expiring.length) {
    const first = expiring[0]!.a;
    return { answer: "at-risk", code: "expiring-soon", cause: `${account(first)} expires in ${plural(days(first.expirationDate! - input.now), "day")}.`, nextStep: "Ask the customer to relink before it expires, or they stop earning." };
  }
  if (expired.length) {
    const last = expired.sort((x, y) => y.a.expirationDate! - x.a.expirationDate!)[0]!.a;
    return { answer: "no", code: "expired", cause: `${account(last)} expired ${plural(days(input.now - last.expirationDate!), "day")} ago.`, nextStep: "Ask the customer to link the account again." };
  }
  const seen = [...new Set(cardlytics.accounts.map((a) => a.status))];
  const statuses = seen.join(", ");
  const unlisted = seen.filter((s) => !["CLOSED", "DISPUTE", "FRAUD"].includes(s));
  if (unlisted.length) {
    return { answer: "no", code: "not-open", cause: `No linked account is OPEN (Cardlytics says ${statuses}, a status its documents do not list).`, nextStep: "This often means Cardlytics can no longer read the bank through the processor token: check the customer's Plaid item (login required, permission revoked, removed) and have them reconnect; if the item is healthy, escalate to Cardlytics with the account id and request id." };
  }
  return { answer: "no", code: "not-open", cause: `No linked account is OPEN (Cardlytics says ${statuses}).`, nextStep: "A CLOSED account needs a new link; DISPUTE or FRAUD needs Cardlytics: escalate with the account id and request id." };
}
