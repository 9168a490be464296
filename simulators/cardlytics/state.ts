/** OPEN is the only status the Rewards API documents; the others come from the older v2 API. Anything else is kept raw. */
export type AccountStatus = "OPEN" | "CLOSED" | "DISPUTE" | "FRAUD" | (string & {});

export type SimAccount = {
  accountId: string;
  status: AccountStatus;
  last4: string;
  cardType: string;
  name: string;
  /** ISO-8601. */
  linkedDate: string;
  /** Epoch milliseconds; sent to clients as a string, as Cardlytics does. */
  expirationDate: number;
  fiName: string;
  fiLogo: string;
  /** Set when the account came in through POST /v2/data/connections. */
  processorToken?: string;
};

export type SimSession = { token: string; customerId: string; clientId: string; issuedAt: number; expiresAt: number };

export const SESSION_LIFETIME_MS = 15 * 60_000;

// Long traffic runs issue a session per request; sweeping only past this size keeps small test states untouched.
const SESSION_SWEEP_THRESHOLD = 10_000;

export class CardlyticsState {
  /** x-source-customer-id (64 lowercase hex) → accounts. A customer with none answers 204, like one never seen. */
  customers = new Map<string, SimAccount[]>();
  sessions = new Map<string, SimSession>();
  /** processor token → the customer id it was connected for. */
  processorTokens = new Map<string, string>();

  accountsOf(customerId: string): SimAccount[] {
    return this.customers.get(customerId) ?? [];
  }

  addSession(session: SimSession, now: number): void {
    if (this.sessions.size >= SESSION_SWEEP_THRESHOLD) {
      for (const [token, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(token);
    }
    this.sessions.set(session.token, session);
  }
}
