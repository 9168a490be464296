import type { PlaidApi } from "plaid";
import type { Db } from "../../db/open";
import type { Config } from "../config/env.server";
import { decryptToken, StoredTokenError, tokenBinding } from "../lib/token-crypto.server";
import { plaidCall, PlaidCallError } from "./client.server";

// A customer's Link sessions, put together from what the console holds: the sessions the identity graph ties to the
// customer (registered by the publisher or named in its funnel events), and the LINK webhooks of each session, which
// carry Link's own ordered event stream, the item it added and how it finished.

export type LinkSessionEvent = { name: string; at: number | null; institution: string | null; errorCode: string | null; exitStatus: string | null };
export type LinkSessionView = {
  linkSessionId: string;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
  outcome: "success" | "exited" | "error" | "in-progress" | "unknown";
  institution: string | null;
  errorCode: string | null;
  exitStatus: string | null;
  itemAdded: boolean;
  events: LinkSessionEvent[];
  hasLinkToken: boolean;
  source: "registered" | "events";
};

const MAX_SESSIONS = 20;
const text = (v: unknown) => (typeof v === "string" && v ? v.slice(0, 200) : null);

type Delivery = { body: Buffer; receivedAt: number; code: string | null };

function parse(body: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(body.toString("utf8")) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function sessionView(id: string, deliveries: Delivery[], registered: { linkTokenEnc: string | null } | undefined, startedFromEvents: number | null): LinkSessionView {
  const events: LinkSessionEvent[] = [];
  let finished: string | null = null;
  let itemAdded = false;
  const seen = new Set<string>();
  for (const d of deliveries) {
    const body = parse(d.body);
    if (!body) continue;
    if (d.code === "EVENTS" && Array.isArray(body.events)) {
      for (const raw of body.events as Record<string, unknown>[]) {
        const key = text(raw?.event_id) ?? `${text(raw?.event_name)}:${text(raw?.timestamp)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const meta = (raw?.event_metadata ?? {}) as Record<string, unknown>;
        const at = typeof raw?.timestamp === "string" ? Date.parse(raw.timestamp) : Number.NaN;
        events.push({ name: text(raw?.event_name) ?? "?", at: Number.isFinite(at) ? at : null, institution: text(meta.institution_name), errorCode: text(meta.error_code), exitStatus: text(meta.exit_status) });
      }
    } else if (d.code === "ITEM_ADD_RESULT") itemAdded = true;
    else if (d.code === "SESSION_FINISHED") finished = text(body.status);
  }
  events.sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  const times = events.map((e) => e.at).filter((t): t is number => t !== null);
  const startedAt = times[0] ?? startedFromEvents ?? (deliveries[0]?.receivedAt ?? null);
  const endedAt = times.at(-1) ?? null;
  const error = events.find((e) => e.errorCode);
  const exit = events.find((e) => e.name === "EXIT");
  const outcome: LinkSessionView["outcome"] =
    finished === "success" || itemAdded || events.some((e) => e.name === "HANDOFF") ? "success" : error ? "error" : finished || exit ? "exited" : deliveries.length ? "in-progress" : "unknown";
  return {
    linkSessionId: id,
    startedAt,
    endedAt,
    durationMs: startedAt !== null && endedAt !== null ? Math.max(0, endedAt - startedAt) : null,
    outcome,
    institution: events.map((e) => e.institution).find(Boolean) ?? null,
    errorCode: error?.errorCode ?? null,
    exitStatus: exit?.exitStatus ?? null,
    itemAdded,
    events,
    hasLinkToken: Boolean(registered?.linkTokenEnc),
    source: registered ? "registered" : "events",
  };
}

/** The customer's Link sessions, newest first, each with its ordered Link events and outcome. Bounded by indexes. */
export function linkSessionsOfCustomer(db: Db, customerHash: string): LinkSessionView[] {
  const c = db.$client;
  const ids = c.prepare("select value from customer_ids where customer_hash = ? and kind = 'link_session' order by first_seen_at desc limit ?").pluck().all(customerHash, MAX_SESSIONS) as string[];
  const registered = c.prepare("select link_token_enc as linkTokenEnc from link_sessions where link_session_id = ?");
  const deliveries = c.prepare("select body, received_at as receivedAt, webhook_code as code from webhook_deliveries where link_session_id = ? and verdict = 'verified' order by id limit 50");
  const started = c.prepare("select min(occurred_at) from funnel_events where link_session_id = ?").pluck();
  return ids
    .map((id) => sessionView(id, deliveries.all(id) as Delivery[], registered.get(id) as { linkTokenEnc: string | null } | undefined, (started.get(id) as number | null) ?? null))
    .sort((a, b) => (b.startedAt ?? 0) - (a.startedAt ?? 0));
}

export type LinkTokenLive = { linkSessionId: string; ok: true; createdAt: number | null; expiresAt: number | null; products: string[]; sessions: number; requestId: string } | { linkSessionId: string; ok: false; errorCode: string; message: string; requestId: string | null };

/** /link/token/get for every session whose link token the publisher registered. */
export async function readLinkTokensLive(deps: { db: Db; plaid: PlaidApi; config: Pick<Config, "tokenEncryptionKey"> }, customerHash: string): Promise<LinkTokenLive[]> {
  const rows = deps.db.$client.prepare("select link_session_id as id, link_token_enc as enc from link_sessions where customer_hash = ? and link_token_enc is not null order by registered_at desc limit ?").all(customerHash, MAX_SESSIONS) as { id: string; enc: string }[];
  return Promise.all(
    rows.map(async ({ id, enc }): Promise<LinkTokenLive> => {
      let linkToken: string;
      try {
        linkToken = decryptToken(deps.config.tokenEncryptionKey, enc, tokenBinding.linkToken(id));
      } catch (error) {
        if (!(error instanceof StoredTokenError)) throw error;
        return { linkSessionId: id, ok: false, errorCode: "STORED_TOKEN_REFUSED", message: `${error.message} Plaid was not asked about it; have the publisher register the session's link token again.`, requestId: null };
      }
      try {
        const res = await plaidCall(() => deps.plaid.linkTokenGet({ link_token: linkToken }));
        const ms = (v: string | null | undefined) => (v ? Date.parse(v) : null);
        return { linkSessionId: id, ok: true, createdAt: ms(res.created_at), expiresAt: ms(res.expiration), products: (res.metadata?.initial_products ?? []).map(String), sessions: res.link_sessions?.length ?? 0, requestId: res.request_id };
      } catch (error) {
        if (!(error instanceof PlaidCallError)) throw error;
        return { linkSessionId: id, ok: false, errorCode: error.failure.errorCode, message: error.failure.errorMessage, requestId: error.failure.requestId };
      }
    }),
  );
}
