import type { AccountBase, ClientUserIdentity, ConsumerReportUserIdentity } from "plaid";
import type { PlaidErrorBody } from "./errors";
import type { Persona } from "./fixtures";

export type ItemError = Omit<PlaidErrorBody, "request_id" | "documentation_url" | "suggested_action"> & { status: number };

export type SimItem = {
  itemId: string;
  accessToken: string;
  institutionId: string;
  persona: Persona;
  accounts: AccountBase[];
  products: string[];
  webhook: string | null;
  error: ItemError | null;
  createdAt: number;
  removed: boolean;
  /** The Plaid user (legacy user_token or new user_id) the item belongs to, when any. */
  userKey: string | null;
  lastWebhook: { sent_at: string; code_sent: string } | null;
};

export type SimUser = {
  generation: "legacy" | "new";
  userId: string;
  userToken: string | null;
  /** The Plaid client (team) that made the user. */
  clientId: string;
  clientUserId: string;
  identity: ClientUserIdentity | ConsumerReportUserIdentity | null;
  createdAt: number;
  updatedAt: number;
  removed: boolean;
};

export type SimReport = {
  requestId: string;
  reportId: string;
  userKey: string;
  /** Where generation started: /cra/check_report/create, or the end of a Plaid Check Link session. */
  origin: "check_report_create" | "link";
  /** When the report was created; it can be read for 24 hours from then. */
  requestedAt: number;
  readyAt: number;
  daysRequested: number;
  products: string[];
  purpose: string;
  webhook: string | null;
  state: "pending" | "ready" | "failed";
  successfulProducts: string[];
  failedProducts: string[];
  failure: { code: string; message: string; causes: unknown[] } | null;
  /** Products asked for after generation, and when Plaid has them ready. */
  lateProducts: Map<string, number>;
};

export type SimLinkAccount = { id: string; name: string; mask: string | null; type: string; subtype: string | null; verification_status: null; class_type: null };
export type SimLinkInstitution = { institution_id: string; name: string };

export type SimLinkSession = {
  linkSessionId: string;
  startedAt: number;
  finishedAt: number;
  status: "success" | "exited";
  events: unknown[];
  /** One per Item the session added (several with enable_multi_item_link). */
  itemAdds: { itemId: string; publicToken: string; institution: SimLinkInstitution; accounts: SimLinkAccount[] }[];
  exit: { error: unknown; institution: SimLinkInstitution | null; status: string } | null;
};

export type SimLinkToken = {
  token: string;
  clientId: string;
  expiresAt: number;
  webhook: string | null;
  clientName: string;
  products: string[];
  userKey: string | null;
  clientUserId: string | null;
  createdAt: number;
  /** Plaid Check: the purpose and options the token was made with; a report is generated when Link ends. */
  permissiblePurpose: string | null;
  craOptions: Record<string, unknown> | null;
  enableMultiItemLink: boolean;
  sessions: SimLinkSession[];
};

export class PlaidState {
  items = new Map<string, SimItem>();
  itemsByAccessToken = new Map<string, SimItem>();
  publicTokens = new Map<string, { itemId: string; expiresAt: number; used: boolean }>();
  processorTokens = new Map<string, { itemId: string; accountId: string; processor: string | null }>();
  users = new Map<string, SimUser>(); // by user_id, and by user_token for the legacy generation
  /** by `<client_id>:<generation>:<client_user_id>` */
  usersByClientUserId = new Map<string, SimUser>();
  reports: SimReport[] = [];
  linkTokens = new Map<string, SimLinkToken>();
  craCalls: number[] = [];

  addItem(item: SimItem): void {
    this.items.set(item.itemId, item);
    this.itemsByAccessToken.set(item.accessToken, item);
  }

  userByKey(key: string): SimUser | undefined {
    const user = this.users.get(key);
    return user && !user.removed ? user : undefined;
  }

  itemsOfUser(user: SimUser): SimItem[] {
    return [...this.items.values()].filter((i) => !i.removed && (i.userKey === user.userId || (user.userToken !== null && i.userKey === user.userToken)));
  }

  latestReport(user: SimUser): SimReport | undefined {
    return this.reports.filter((r) => r.userKey === user.userId).at(-1);
  }
}
