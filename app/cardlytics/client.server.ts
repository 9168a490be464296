import { randomUUID } from "node:crypto";
import { LRUCache } from "lru-cache";
import { Agent, request, type Dispatcher } from "undici";
import type { VendorCall } from "../ops/metrics.server";

// The only code that speaks to the Cardlytics Rewards API. It knows the vendor's quirks: a 500 from startSession
// means rejected credentials, a 401 means "start a new session", 204 means "no linked account".

export type CardlyticsAccount = {
  accountId: string;
  status: string;
  last4: string | null;
  cardType: string | null;
  name: string | null;
  fiName: string | null;
  linkedDate: string | null;
  /** Epoch milliseconds; Cardlytics sends them as a string. */
  expirationDate: number | null;
};

export type FailureReason =
  | "credentials-rejected"
  | "unauthorized"
  | "forbidden"
  | "rate-limited"
  | "server-error"
  | "timeout"
  | "unreachable"
  | "bad-response";

export type AccountLinkResult =
  | { outcome: "linked"; httpStatus: 200; accounts: CardlyticsAccount[]; requestId: string; latencyMs: number; attempts: number }
  | { outcome: "none"; httpStatus: 204; requestId: string; latencyMs: number; attempts: number }
  | { outcome: "failed"; reason: FailureReason; httpStatus: number | null; requestId: string; message: string; latencyMs: number; attempts: number };

export type CardlyticsClientOptions = {
  baseUrl: string;
  clientId: string;
  secret: string;
  now?: () => number;
  timeoutMs?: number;
  /** Extra tries for idempotent calls after a timeout, a 429 or a 5xx. */
  retries?: number;
  backoffMs?: number;
  dispatcher?: Dispatcher;
  /** Told of every HTTP call made, for the logs and metrics. */
  onCall?: (call: VendorCall) => void;
  /** How many customers' session tokens are kept; the least recently used go first. */
  maxSessions?: number;
};

const SESSION_LIFETIME_MS = 15 * 60_000;
// A cached token is dropped this long before Cardlytics would expire it, so a slow call never carries a dead one.
const SESSION_MARGIN_MS = 60_000;

type Attempt = { status: number; body: string; requestId: string } | { error: "timeout" | "unreachable"; requestId: string; message: string };

export class CardlyticsClient {
  // One session token per customer (Cardlytics binds a session to x-source-customer-id), so the cache is bounded.
  private readonly sessions: LRUCache<string, { token: string; expiresAt: number }>;
  private readonly dispatcher: Dispatcher;
  private readonly now: () => number;

  constructor(private readonly options: CardlyticsClientOptions) {
    this.now = options.now ?? Date.now;
    this.sessions = new LRUCache({ max: options.maxSessions ?? 5000 });
    this.dispatcher = options.dispatcher ?? new Agent({ connect: { timeout: options.timeoutMs ?? 5000 } });
  }

  private async send(method: "GET" | "POST" | "DELETE", path: string, headers: Record<string, string>, body?: unknown): Promise<Attempt> {
    const requestId = randomUUID();
    const timeout = this.options.timeoutMs ?? 5000;
    const started = performance.now();
    const endpoint = path.split("?")[0]!;
    const report = (status: VendorCall["status"], id: string | null) => this.options.onCall?.({ vendor: "cardlytics", endpoint, status, ms: performance.now() - started, requestId: id });
    try {
      const res = await request(new URL(path, this.options.baseUrl), {
        method,
        dispatcher: this.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        headers: { "content-type": "application/json", "x-cdlx-request-id": requestId, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.body.text();
      const answeredId = headerValue(res.headers["x-cdlx-request-id"]) ?? requestId;
      report(res.statusCode, answeredId);
      return { status: res.statusCode, body: text, requestId: answeredId };
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      const timedOut = /TIMEOUT/.test(code);
      report(timedOut ? "timeout" : "unreachable", requestId);
      return { error: timedOut ? "timeout" : "unreachable", requestId, message: timedOut ? `no answer within ${timeout} ms` : (error as Error).message };
    }
  }

  /** Tries an idempotent call again after a timeout, 429 or 5xx (but not startSession's 500), with backoff and jitter. */
  private async withRetries(call: () => Promise<Attempt>, retryable: (a: Attempt) => boolean): Promise<{ last: Attempt; attempts: number }> {
    const retries = this.options.retries ?? 2;
    let attempts = 0;
    for (;;) {
      const last = await call();
      attempts++;
      if (attempts > retries || !retryable(last)) return { last, attempts };
      const base = (this.options.backoffMs ?? 200) * 2 ** (attempts - 1);
      await new Promise((r) => setTimeout(r, base / 2 + Math.random() * base));
    }
  }

  private async startSession(customerId: string): Promise<{ token: string } | { failure: Attempt & { reason: FailureReason } }> {
    const { last } = await this.withRetries(
      () => this.send("POST", "/v2/session/startSession", { "x-source-customer-id": customerId }, { clientId: this.options.clientId, secret: this.options.secret }),
      (a) => "error" in a || a.status === 429 || a.status >= 502,
    );
    if ("error" in last) return { failure: { ...last, reason: last.error } };
    if (last.status === 200) {
      const token = (safeParse(last.body) as { sessionToken?: unknown } | undefined)?.sessionToken;
      if (typeof token === "string" && token) {
        this.sessions.set(customerId, { token, expiresAt: this.now() + SESSION_LIFETIME_MS - SESSION_MARGIN_MS });
        return { token };
      }
      return { failure: { ...last, reason: "bad-response" } };
    }
    return { failure: { ...last, reason: last.status === 500 || last.status === 401 ? "credentials-rejected" : classify(last.status) } };
  }

  private async session(customerId: string, fresh: boolean) {
    const cached = this.sessions.get(customerId);
    if (!fresh && cached && cached.expiresAt > this.now()) return { token: cached.token };
    this.sessions.delete(customerId);
    return this.startSession(customerId);
  }

  /**
   * Whether Cardlytics answers and accepts our credentials: one startSession for a probe customer id that belongs to
   * nobody (its token is not kept). For readiness; never retried.
   */
  async checkCredentials(): Promise<{ ok: true; requestId: string } | { ok: false; reason: FailureReason; requestId: string }> {
    const a = await this.send("POST", "/v2/session/startSession", { "x-source-customer-id": "0".repeat(64) }, { clientId: this.options.clientId, secret: this.options.secret });
    if ("error" in a) return { ok: false, reason: a.error, requestId: a.requestId };
    if (a.status === 200) return { ok: true, requestId: a.requestId };
    return { ok: false, reason: a.status === 500 || a.status === 401 ? "credentials-rejected" : classify(a.status), requestId: a.requestId };
  }

  /** GET /v2/data/accountLink for one customer hash: a cached session, one new session and one retry on a 401. */
  async accountLink(customerId: string, options: { mockData?: boolean } = {}): Promise<AccountLinkResult> {
    const started = performance.now();
    let attempts = 0;
    const latencyMs = () => Math.round(performance.now() - started);
    for (const fresh of [false, true]) {
      const session = await this.session(customerId, fresh);
      if ("failure" in session) return failed(session.failure, session.failure.reason, latencyMs(), attempts + 1);
      const { last, attempts: tries } = await this.withRetries(
        () =>
          this.send("GET", "/v2/data/accountLink", {
            authorization: `Bearer ${session.token}`,
            "x-source-customer-id": customerId,
            "x-mock-data": options.mockData ? "true" : "false",
          }),
        (a) => "error" in a || a.status === 429 || a.status >= 500,
      );
      attempts += tries;
      if ("error" in last) return failed(last, last.error, latencyMs(), attempts);
      if (last.status === 401 && !fresh) continue; // the token died early: one new session, one retry
      if (last.status === 204) return { outcome: "none", httpStatus: 204, requestId: last.requestId, latencyMs: latencyMs(), attempts };
      if (last.status === 200) {
        const accounts = parseAccounts(last.body);
        if (accounts) return { outcome: "linked", httpStatus: 200, accounts, requestId: last.requestId, latencyMs: latencyMs(), attempts };
        return failed(last, "bad-response", latencyMs(), attempts);
      }
      return failed(last, classify(last.status), latencyMs(), attempts);
    }
    throw new Error("unreachable");
  }

  /**
   * POST /v2/data/connections: hands Cardlytics a Plaid processor token for the customer. Not retried blindly (it
   * binds a token); only a 401 gets one new session and one more try.
   */
  async connect(customerId: string, processorToken: string): Promise<ConnectResult> {
    for (const fresh of [false, true]) {
      const session = await this.session(customerId, fresh);
      if ("failure" in session) {
        const f = session.failure;
        return { ok: false, reason: f.reason, httpStatus: "status" in f ? f.status : null, requestId: f.requestId, message: "error" in f ? f.message : (vendorMessage(f.body) ?? `HTTP ${f.status}`) };
      }
      const a = await this.send("POST", "/v2/data/connections", { authorization: `Bearer ${session.token}`, "x-source-customer-id": customerId }, { processorToken });
      if ("error" in a) return { ok: false, reason: a.error, httpStatus: null, requestId: a.requestId, message: a.message };
      if (a.status === 401 && !fresh) continue;
      if (a.status === 200) return { ok: true, requestId: a.requestId, accounts: parseAccounts(a.body) ?? [] };
      const reason = a.status === 409 ? "conflict" : a.status === 400 ? "refused" : classify(a.status);
      const detail = (safeParse(a.body) as { validationErrors?: { message?: string }[] } | undefined)?.validationErrors?.[0]?.message;
      return { ok: false, reason, httpStatus: a.status, requestId: a.requestId, message: detail ?? vendorMessage(a.body) ?? `HTTP ${a.status}` };
    }
    throw new Error("unreachable");
  }
}

export type ConnectResult =
  | { ok: true; requestId: string; accounts: CardlyticsAccount[] }
  | { ok: false; reason: FailureReason | "refused" | "conflict"; httpStatus: number | null; requestId: string; message: string };

function failed(a: Attempt, reason: FailureReason, latencyMs: number, attempts: number): AccountLinkResult {
  const httpStatus = "status" in a ? a.status : null;
  const message = "error" in a ? a.message : vendorMessage(a.body) ?? `HTTP ${a.status}`;
  return { outcome: "failed", reason, httpStatus, requestId: a.requestId, message, latencyMs, attempts };
}

function classify(status: number): FailureReason {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 429) return "rate-limited";
  if (status >= 500) return "server-error";
  return "bad-response";
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function vendorMessage(body: string): string | undefined {
  const parsed = safeParse(body) as { title?: unknown; type?: unknown } | undefined;
  return typeof parsed?.title === "string" ? `${parsed.title}${typeof parsed.type === "string" ? ` (${parsed.type})` : ""}` : undefined;
}

const text = (v: unknown) => (typeof v === "string" && v.length ? v : null);

/** Reads the 200 body; expirationDate may be epoch ms as a string (documented), a number, or missing. */
export function parseAccounts(body: string): CardlyticsAccount[] | null {
  const parsed = safeParse(body) as { accounts?: unknown } | undefined;
  if (!parsed || !Array.isArray(parsed.accounts)) return null;
  return parsed.accounts.flatMap((raw: unknown) => {
    if (!raw || typeof raw !== "object") return [];
    const a = raw as Record<string, unknown>;
    const expiration = typeof a.expirationDate === "number" ? a.expirationDate : typeof a.expirationDate === "string" && /^\d+$/.test(a.expirationDate) ? Number(a.expirationDate) : null;
    return [
      {
        accountId: text(a.accountId) ?? "(no id)",
        status: text(a.status) ?? "UNKNOWN",
        last4: text(a.last4),
        cardType: text(a.cardType),
        name: text(a.name),
        fiName: text(a.fiName),
        linkedDate: text(a.linkedDate),
        expirationDate: expiration,
      },
    ];
  });
}
