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
  /** null when Cardlytics has no logo for the bank (how the seed shows it); see `missingFiLogo`. */
  fiLogo: string | null;
  /** Set when the account came in through POST /v2/data/connections. */
  processorToken?: string;
  /** The Plaid account behind the processor token. */
  plaidAccountId?: string;
  /** Cardlytics' pulls through the processor token (see settings.pull). */
  pull?: PullState;
};

export type PullState = {
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  /** Since when every pull has failed, and with which Plaid error code; null while pulls succeed. */
  failingSince: number | null;
  lastErrorCode: string | null;
  cursor: string | null;
  transactionsSeen: number;
  /** The status Cardlytics showed before a failing feed changed it, to restore when the feed recovers. */
  statusBeforeFailure: AccountStatus | null;
};

/**
 * Where Cardlytics' documents are silent, the simulator's answer is a setting. Defaults follow what the source
 * documents show; the other values are the plausible alternatives a client must survive.
 */
export type CardlyticsSimSettings = {
  /** A live token used with another x-source-customer-id: the documents show only 401 for a bad token. */
  otherCustomerToken: 401 | 403;
  /** x-source-customer-id is a "string" (HMAC "preferably"): any is taken, or only 64 lowercase hex ("hmac-hex"). */
  customerIdFormat: "any" | "hmac-hex";
  /** fiLogo when Cardlytics has no logo: null as the documents show, or "". */
  missingFiLogo: null | "";
  /** accountId of a connected account: Cardlytics' own id (the documents' ids), or Plaid's account_id reused. */
  accountIds: "cardlytics" | "plaid";
  /** How often Cardlytics pulls transactions through each processor token; 0 turns the schedule off. */
  pullIntervalMs: number;
  /** After this many days of failed pulls the account shows `failedPullStatus`; null: it stays as it was (silent). */
  failedPullDays: number | null;
  failedPullStatus: string;
};

export const DEFAULT_CARDLYTICS_SETTINGS: CardlyticsSimSettings = {
  otherCustomerToken: 401,
  customerIdFormat: "any",
  missingFiLogo: null,
  accountIds: "cardlytics",
  pullIntervalMs: 6 * 3600_000,
  failedPullDays: 3,
  failedPullStatus: "ERROR",
};

const SETTING_CHECKS: Record<keyof CardlyticsSimSettings, [(v: unknown) => boolean, string]> = {
  otherCustomerToken: [(v) => v === 401 || v === 403, "401 or 403"],
  customerIdFormat: [(v) => v === "any" || v === "hmac-hex", '"any" or "hmac-hex"'],
  missingFiLogo: [(v) => v === null || v === "", 'null or ""'],
  accountIds: [(v) => v === "cardlytics" || v === "plaid", '"cardlytics" or "plaid"'],
  pullIntervalMs: [(v) => typeof v === "number" && Number.isFinite(v) && v >= 0, "a number of milliseconds, 0 for none"],
  failedPullDays: [(v) => v === null || (typeof v === "number" && v >= 0), "a number of days, or null"],
  failedPullStatus: [(v) => typeof v === "string" && v.length > 0 && v.length <= 40, "a non-empty string"],
};

/** Checks a settings patch (control surface or SIM_CARDLYTICS_SETTINGS); throws with what is wrong. */
export function readCardlyticsSettings(value: unknown): Partial<CardlyticsSimSettings> {
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("settings are an object");
  for (const [key, v] of Object.entries(value)) {
    const check = SETTING_CHECKS[key as keyof CardlyticsSimSettings];
    if (!check) throw new Error(`unknown setting "${key}"; known: ${Object.keys(SETTING_CHECKS).join(", ")}`);
    if (!check[0](v)) throw new Error(`${key} is ${check[1]}`);
  }
  return value as Partial<CardlyticsSimSettings>;
}

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
