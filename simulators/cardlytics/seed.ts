import { createHmac, randomBytes } from "node:crypto";
import type { AccountStatus, CardlyticsState, SimAccount } from "./state";

const DAY = 86_400_000;

export type SeededCustomer = { rawId: string; hash: string; description: string };

/** The console's digest of an internal customer id: lowercase hex HMAC-SHA-256, which is what Cardlytics sees. */
export const hashCustomerId = (rawId: string, key: string): string => createHmac("sha256", key).update(rawId, "utf8").digest("hex");

type SeedAccount = {
  status: AccountStatus;
  expiresInDays: number;
  fiName: string;
  last4: string;
  cardType?: string;
  linkedDaysAgo?: number;
};

type Seed = { rawId: string; description: string; accounts: SeedAccount[] };

// Every state a support agent meets: healthy, about to expire, expired, and each non-OPEN status known from v2.
export const DEMO_CUSTOMERS: readonly Seed[] = [
  {
    rawId: "demo-open",
    description: "one OPEN account, expires in about 200 days",
    accounts: [{ status: "OPEN", expiresInDays: 200, fiName: "First Platypus Bank", last4: "0000" }],
  },
  {
    rawId: "demo-expiring",
    description: "OPEN account that expires in 3 days",
    accounts: [{ status: "OPEN", expiresInDays: 3, fiName: "Tartan Bank", last4: "4821" }],
  },
  {
    rawId: "demo-expired",
    description: "OPEN account that expired 2 months ago",
    accounts: [{ status: "OPEN", expiresInDays: -61, fiName: "Houndstooth Bank", last4: "7730", linkedDaysAgo: 430 }],
  },
  {
    rawId: "demo-closed",
    description: "CLOSED account",
    accounts: [{ status: "CLOSED", expiresInDays: 120, fiName: "First Gingham Credit Union", last4: "1290" }],
  },
  {
    rawId: "demo-dispute",
    description: "account in DISPUTE",
    accounts: [{ status: "DISPUTE", expiresInDays: 90, fiName: "Tattersall Federal Credit Union", last4: "3318" }],
  },
  {
    rawId: "demo-fraud",
    description: "account flagged FRAUD",
    accounts: [{ status: "FRAUD", expiresInDays: 150, fiName: "First Platypus Bank", last4: "6642" }],
  },
  {
    rawId: "demo-two-cards",
    description: "one OPEN and one CLOSED account",
    accounts: [
      { status: "OPEN", expiresInDays: 25, fiName: "First Platypus Bank", last4: "0000" },
      { status: "CLOSED", expiresInDays: 300, fiName: "Tartan Bank", last4: "9911", cardType: "credit card" },
    ],
  },
  { rawId: "demo-none", description: "no linked account (204)", accounts: [] },
];

/** The seeded ids to try, without starting a simulator. */
export function demoCustomers(hmacKey: string): SeededCustomer[] {
  return DEMO_CUSTOMERS.map(({ rawId, description }) => ({ rawId, hash: hashCustomerId(rawId, hmacKey), description }));
}

function toAccount(seed: SeedAccount, now: number): SimAccount {
  return {
    accountId: randomBytes(12).toString("hex"),
    status: seed.status,
    last4: seed.last4,
    cardType: seed.cardType ?? "checking",
    name: seed.cardType === "credit card" ? "Rewards Card" : "Everyday Checking",
    linkedDate: new Date(now - (seed.linkedDaysAgo ?? 165) * DAY).toISOString(),
    expirationDate: now + seed.expiresInDays * DAY,
    fiName: seed.fiName,
    fiLogo: null,
  };
}

/** Customers without accounts get no entry at all: Cardlytics has simply never heard of them. */
export function seedCustomers(state: CardlyticsState, hmacKey: string, now: number): SeededCustomer[] {
  const seeded = demoCustomers(hmacKey);
  DEMO_CUSTOMERS.forEach((seed, i) => {
    if (seed.accounts.length) state.customers.set(seeded[i]!.hash, seed.accounts.map((a) => toAccount(a, now)));
  });
  return seeded;
}
