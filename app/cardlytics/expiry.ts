import type { CardlyticsAccount } from "./client.server";

export type AccountState = "active" | "expiring" | "expired" | "not-open";

export const DEFAULT_EXPIRING_WITHIN_DAYS = 14;
const DAY_MS = 86_400_000;

/**
 * Where a linked account stands. Any status other than OPEN is "not-open" (the raw status is shown). An OPEN account
 * is expired from its expirationDate on, and expiring when that date is at most `expiringWithinDays` away.
 */
export function classifyAccount(
  account: Pick<CardlyticsAccount, "status" | "expirationDate">,
  now: number,
  expiringWithinDays = DEFAULT_EXPIRING_WITHIN_DAYS,
): AccountState {
  if (account.status !== "OPEN") return "not-open";
  if (account.expirationDate === null) return "active";
  if (account.expirationDate <= now) return "expired";
  if (account.expirationDate - now <= expiringWithinDays * DAY_MS) return "expiring";
  return "active";
}
