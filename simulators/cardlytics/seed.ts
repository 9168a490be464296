import { createHmac, randomBytes } from "node:crypto";
import type { CardlyticsState, SimAccount } from "./state";

const DAY = 86_400_000;

export type SeededCustomer = { rawId: string; hash: string; description: string };

export const hashCustomerId = (rawId: string, key: string) => createHmac("sha256", key).update(rawId, "utf8").digest("hex");

const accountId = () => randomBytes(12).toString("hex");

type Seed = { rawId: string; description: string; accounts: { status: string; expiresInDays: number; fiName: string; last4: string; cardType?: string; linkedDaysAgo?: number }[] };

// Every state a support agent meets: healthy, about to expire, expired, and each non-OPEN status Cardlytics uses.
const SEEDS: Seed[] = [
  { rawId: "demo-open", description: "one OPEN account, expires in about 200 days", accounts: [{ status: "OPEN", expiresInDays: 200, fiName: "First Platypus Bank", last4: "0000" }] },
  { rawId: "demo-expiring", description: "OPEN account that expires in 3 days", accounts: [{ status: "OPEN", expiresInDays: 3, fiName: "Tartan Bank", last4: "4821" }] },
  { rawId: "demo-expired", description: "OPEN account that expired 2 months ago", accounts: [{ status: "OPEN", expiresInDays: -61, fiName: "Houndstooth Bank", last4: "7730", linkedDaysAgo: 430 }] },
  { rawId: "demo-closed", description: "CLOSED account", accounts: [{ status: "CLOSED", expiresInDays: 120, fiName: "First Gingham Credit Union", last4: "1290" }] },
  { rawId: "demo-dispute", description: "account in DISPUTE", accounts: [{ status: "DISPUTE", expiresInDays: 90, fiName: "Tattersall Federal Credit Union", last4: "3318" }] },
  { rawId: "demo-fraud", description: "account flagged FRAUD", accounts: [{ status: "FRAUD", expiresInDays: 150, fiName: "First Platypus Bank", last4: "6642" }] },
  { rawId: "demo-two-cards", description: "one OPEN and one CLOSED account", accounts: [{ status: "OPEN", expiresInDays: 25, fiName: "First Platypus Bank", last4: "0000" }, { status: "CLOSED", expiresInDays: 300, fiName: "Tartan Bank", last4: "9911", cardType: "credit card" }] },
  { rawId: "demo-none", description: "no linked account (204)", accounts: [] },
];

export function seedCustomers(state: CardlyticsState, hmacKey: string, now: number): SeededCustomer[] {
  return SEEDS.map((seed) => {
    const hash = hashCustomerId(seed.rawId, hmacKey);
    if (seed.accounts.length) {
      state.customers.set(
        hash,
        seed.accounts.map(
          (a): SimAccount => ({
            accountId: accountId(),
            status: a.status,
            last4: a.last4,
            cardType: a.cardType ?? "checking",
            name: a.cardType === "credit card" ? "Rewards Card" : "Everyday Checking",
            linkedDate: new Date(now - (a.linkedDaysAgo ?? 165) * DAY).toISOString(),
            expirationDate: now + a.expiresInDays * DAY,
            fiName: a.fiName,
            fiLogo: "",
          }),
        ),
      );
    }
    return { rawId: seed.rawId, hash, description: seed.description };
  });
}
