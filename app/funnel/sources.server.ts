import type { Queryable } from "../../db/open";
import { recordFunnelEvents, type FunnelEventInput } from "./record.server";
import { LINK_EVENT_MAP } from "./steps";
import { plural } from "../lib/plural";

// Adapters from what the console sees (Plaid webhooks, its own actions, Cardlytics checks) to funnel events. Each
// event id is derived from the source, so seeing the same thing twice records it once.

const str = (v: unknown) => (typeof v === "string" && v.length > 0 ? v.slice(0, 200) : null);

type LinkEvent = { event_name?: unknown; event_id?: unknown; timestamp?: unknown; event_metadata?: Record<string, unknown> | null };

/** LINK webhooks: EVENTS carries Link's own event stream, ITEM_ADD_RESULT says an Item was added. */
export function recordLinkWebhook(db: Queryable, body: Record<string, unknown>, at: Date): { status: "handled" | "ignored"; result: string } {
  const code = String(body.webhook_code ?? "");
  const sessionId = str(body.link_session_id);
  const events: FunnelEventInput[] = [];
  if (code === "EVENTS" && Array.isArray(body.events)) {
    for (const [i, raw] of (body.events as LinkEvent[]).entries()) {
      const name = LINK_EVENT_MAP[String(raw?.event_name ?? "")];
      if (!name) continue;
      const meta = raw.event_metadata ?? {};
      const time = typeof raw.timestamp === "string" ? Date.parse(raw.timestamp) : Number.NaN;
      events.push({
        eventId: `link:${str(raw.event_id) ?? `${sessionId}:${i}`}`,
        name,
        occurredAt: Number.isFinite(time) ? time : at.getTime(),
        source: "webhook",
        linkSessionId: sessionId,
        institutionId: str(meta.institution_id),
        institutionName: str(meta.institution_name),
        errorCode: str(meta.error_code),
      });
    }
  } else if (code === "ITEM_ADD_RESULT" && sessionId) {
    events.push({ eventId: `link:${sessionId}:ITEM_ADD_RESULT`, name: "item_added", occurredAt: at.getTime(), source: "webhook", linkSessionId: sessionId });
  } else if (code === "SESSION_FINISHED" && sessionId) {
    // How the session ended is read from this stored delivery by the customer's Link sessions; no funnel step.
    return { status: "handled", result: `Link session ${sessionId} finished: ${str(body.status) ?? "no status given"}` };
  } else {
    return { status: "ignored", result: `recorded; LINK/${code} adds nothing to the funnel` };
  }
  if (!events.length) return { status: "ignored", result: `recorded; no funnel step in LINK/${code}` };
  const outcomes = recordFunnelEvents(db, events, at);
  const fresh = outcomes.filter((o) => o === "accepted").length;
  return { status: "handled", result: `funnel: ${plural(fresh, "event")} recorded${fresh < events.length ? `, ${events.length - fresh} already known` : ""} for Link session ${sessionId ?? "(none)"}` };
}

/** A step the console itself saw happen for a known customer. */
export function recordConsoleStep(
  db: Queryable,
  step: { key: string; name: "item_added" | "processor_token_created" | "account_linked" | "report_ready"; customerHash: string; at: Date; itemId?: string | null; institutionId?: string | null; institutionName?: string | null },
): void {
  recordFunnelEvents(
    db,
    [
      {
        eventId: `${step.name === "account_linked" ? "cardlytics" : "console"}:${step.name}:${step.key}`,
        name: step.name,
        occurredAt: step.at.getTime(),
        source: step.name === "account_linked" ? "cardlytics" : "console",
        customerHash: step.customerHash,
        itemId: step.itemId ?? null,
        institutionId: step.institutionId ?? null,
        institutionName: step.institutionName ?? null,
      },
    ],
    step.at,
  );
}
