export type SimAccount = {
  accountId: string;
  status: string;
  last4: string;
  cardType: string;
  name: string;
  linkedDate: string;
  /** Epoch milliseconds; sent to clients as a string, as Cardlytics does. */
  expirationDate: number;
  fiName: string;
  fiLogo: string;
  processorToken?: string;
};

export type SimSession = { token: string; customerId: string; expiresAt: number };

export class CardlyticsState {
  customers = new Map<string, SimAccount[]>();
  sessions = new Map<string, SimSession>();
  /** processor token → the customer id it was connected for. */
  processorTokens = new Map<string, string>();
}
