import { request } from "undici";
import type { Cancel, SimClock } from "../shared/clock";
import { safeJson } from "../shared/http";
import type { PlaidUpstream } from "./connections";
import type { CardlyticsSimSettings, CardlyticsState, PullState, SimAccount } from "./state";

const DAY = 86_400_000;
const PLAID_TIMEOUT_MS = 10_000;
const MAX_PAGES = 20;

type Outcome = { ok: true; added: number } | { ok: false; code: string; verdict: boolean };

const freshPull = (): PullState => ({ lastAttemptAt: null, lastSuccessAt: null, failingSince: null, lastErrorCode: null, cursor: null, transactionsSeen: 0, statusBeforeFailure: null });

/**
 * Cardlytics reading what a processor token grants: /processor/transactions/sync on a schedule, for every account
 * that came in through /v2/data/connections. What breaks on the Plaid side (login required, permission revoked,
 * Item removed) shows here as a failing feed. What Cardlytics then reports is not documented; the simulator's
 * assumption (a setting): after `failedPullDays` days of Plaid refusing the token, the account's status becomes
 * `failedPullStatus`, and goes back to what it was once a pull succeeds again. A Plaid outage (5xx, no answer) is
 * retried and never counts as a failing feed.
 */
export class TransactionPuller {
  private timer: Cancel | null = null;
  private running = new Map<SimAccount, { queuedAt: number | null; done: Promise<void> }>();

  constructor(
    private readonly state: CardlyticsState,
    private readonly clock: SimClock,
    private readonly plaid: PlaidUpstream,
    private readonly settings: CardlyticsSimSettings,
  ) {}

  /** (Re)starts the schedule at the current interval. */
  schedule(): void {
    this.timer?.();
    this.timer = null;
    const interval = this.settings.pullIntervalMs;
    if (interval <= 0) return;
    const tick = () => {
      this.pullAll();
      this.timer = this.clock.setTimeout(tick, interval);
    };
    this.timer = this.clock.setTimeout(tick, interval);
  }

  stop(): void {
    this.timer?.();
    this.timer = null;
  }

  /** Pulls every connected account now (as at the current simulated time). */
  pullAll(): void {
    const at = this.clock.now();
    for (const accounts of this.state.customers.values()) for (const a of accounts) if (a.processorToken) this.pull(a, at);
  }

  /** Resolves when no pull is on the wire (tests and the control endpoint wait on this instead of sleeping). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** One pull per account at a time; pulls that fall due meanwhile collapse into one more, at the latest time. */
  private pull(account: SimAccount, at: number): void {
    const busy = this.running.get(account);
    if (busy) {
      busy.queuedAt = at;
      return;
    }
    const entry: { queuedAt: number | null; done: Promise<void> } = { queuedAt: null, done: Promise.resolve() };
    const run = async (time: number): Promise<void> => {
      this.apply(account, time, await this.sync(account));
      if (entry.queuedAt !== null) {
        const next = entry.queuedAt;
        entry.queuedAt = null;
        await run(next);
      }
    };
    entry.done = run(at).finally(() => this.running.delete(account));
    this.running.set(account, entry);
  }

  private apply(account: SimAccount, at: number, outcome: Outcome): void {
    const pull = (account.pull ??= freshPull());
    pull.lastAttemptAt = at;
    if (outcome.ok) {
      pull.lastSuccessAt = at;
      pull.failingSince = null;
      pull.lastErrorCode = null;
      pull.transactionsSeen += outcome.added;
      if (pull.statusBeforeFailure !== null) {
        account.status = pull.statusBeforeFailure;
        pull.statusBeforeFailure = null;
      }
      return;
    }
    pull.lastErrorCode = outcome.code;
    if (!outcome.verdict) return;
    pull.failingSince ??= at;
    const days = this.settings.failedPullDays;
    if (days !== null && at - pull.failingSince >= days * DAY && pull.statusBeforeFailure === null) {
      pull.statusBeforeFailure = account.status;
      account.status = this.settings.failedPullStatus;
    }
  }

  /** Every page since the account's cursor; the cursor only moves when the whole sync succeeds. */
  private async sync(account: SimAccount): Promise<Outcome> {
    let cursor = account.pull?.cursor ?? null;
    let added = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      let status: number;
      let body: Record<string, unknown> | undefined;
      try {
        const res = await request(`${this.plaid.baseUrl}/processor/transactions/sync`, {
          method: "POST",
          headers: { "content-type": "application/json", "plaid-version": "2020-09-14" },
          body: JSON.stringify({ client_id: this.plaid.clientId, secret: this.plaid.secret, processor_token: account.processorToken, ...(cursor ? { cursor } : {}), count: 500 }),
          headersTimeout: PLAID_TIMEOUT_MS,
          bodyTimeout: PLAID_TIMEOUT_MS,
        });
        status = res.statusCode;
        body = safeJson(Buffer.from(await res.body.arrayBuffer())) as Record<string, unknown> | undefined;
      } catch {
        return { ok: false, code: "UNREACHABLE", verdict: false };
      }
      if (status !== 200 || !body || !Array.isArray(body.added)) {
        const code = typeof body?.error_code === "string" ? body.error_code : `HTTP_${status}`;
        // A 400 is Plaid's verdict on the token or its Item (except on Cardlytics' own keys); anything else is an outage.
        return { ok: false, code, verdict: status === 400 && code !== "INVALID_API_KEYS" };
      }
      added += body.added.length;
      cursor = typeof body.next_cursor === "string" && body.next_cursor ? body.next_cursor : cursor;
      if (body.has_more !== true) break;
    }
    (account.pull ??= freshPull()).cursor = cursor;
    return { ok: true, added };
  }
}
