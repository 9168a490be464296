import { request } from "undici";
import { mulberry32, pick } from "./shared/random";

// Past linking journeys as a publisher's backend would report them to POST /api/events: customers starting Link
// over the last N days, dropping out at realistic rates (worse at unhealthy institutions), some retrying later.

export type PublisherEvent = {
  event_id: string;
  name: string;
  occurred_at: number;
  customer_hash: string;
  link_session_id?: string;
  item_id?: string;
  institution_id?: string;
  institution_name?: string;
  error_code?: string;
  attributes?: Record<string, string>;
};

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const INSTITUTIONS = [
  { id: "ins_109508", name: "First Platypus Bank", weight: 0.34, failure: 0.06 },
  { id: "ins_109511", name: "Tartan Bank", weight: 0.2, failure: 0.08 },
  { id: "ins_109509", name: "First Gingham Credit Union", weight: 0.15, failure: 0.1 },
  { id: "ins_109512", name: "Houndstooth Bank", weight: 0.12, failure: 0.09 },
  { id: "ins_109510", name: "Tattersall Federal Credit Union", weight: 0.1, failure: 0.12 },
  { id: "ins_132363", name: "Unhealthy Platypus - Degraded", weight: 0.05, failure: 0.35 },
  { id: "ins_132361", name: "Unhealthy Platypus - Down", weight: 0.04, failure: 0.8 },
] as const;

const PLATFORMS = [["ios", 0.45], ["android", 0.35], ["web", 0.2]] as const;
const ENTRY_POINTS = [["onboarding", 0.5], ["rewards_tab", 0.35], ["email_campaign", 0.15]] as const;
const CREDENTIAL_ERRORS = [["INVALID_CREDENTIALS", 0.55], ["INVALID_MFA", 0.2], ["ITEM_LOCKED", 0.15], ["INSTITUTION_NOT_RESPONDING", 0.1]] as const;

export type HistoryOptions = {
  customers: number;
  days: number;
  now: number;
  hashOf: (index: number) => string;
  seed?: number;
  /** Pads each customer with later re-opens of Link, closed at once, up to this many events. */
  eventsPerCustomer?: number;
};

/** One customer's events at a time, in the order they happened; nothing later than `now`. */
export function* historicalJourneys(options: HistoryOptions): Generator<PublisherEvent[]> {
  const random = mulberry32(options.seed ?? 7);
  // Heavy-tailed waits: most are short, some take days.
  const wait = (median: number) => Math.round(median * Math.exp((random() + random() + random() - 1.5) * 2));
  for (let i = 0; i < options.customers; i++) {
    const customer_hash = options.hashOf(i);
    const institution = pick(random, INSTITUTIONS.map((x) => [x, x.weight] as const));
    const attributes = { platform: pick(random, PLATFORMS), entry_point: pick(random, ENTRY_POINTS) };
    // Later cohorts convert a little better: the publisher keeps improving its flow.
    const age = random();
    let t = options.now - Math.round(age * options.days * DAY);
    const lift = (1 - age) * 0.06;
    const events: PublisherEvent[] = [];
    const emit = (name: string, extra: Partial<PublisherEvent> = {}) => events.push({ event_id: `hist-${options.seed ?? 7}-${i}-${events.length}`, name, occurred_at: t, customer_hash, ...extra });
    const session = `hist-session-${i}`;
    const where = { institution_id: institution.id, institution_name: institution.name };
    emit("link_started", { link_session_id: session, attributes });
    journey: {
      if (random() < 0.14 - lift) {
        t += wait(40_000);
        emit("link_exit", { link_session_id: session });
        break journey;
      }
      t += wait(15_000);
      emit("institution_selected", { link_session_id: session, ...where });
      if (random() < 0.08 - lift / 2) {
        t += wait(30_000);
        emit("link_exit", { link_session_id: session, ...where });
        break journey;
      }
      t += wait(60_000);
      emit("credentials_submitted", { link_session_id: session, ...where });
      if (random() < institution.failure) {
        const code = institution.id === "ins_132361" ? "INSTITUTION_DOWN" : pick(random, CREDENTIAL_ERRORS);
        t += wait(5_000);
        emit("link_error", { link_session_id: session, ...where, error_code: code });
        t += wait(20_000);
        emit("link_exit", { link_session_id: session, ...where, error_code: code });
        break journey;
      }
      const item_id = `hist-item-${i}`;
      t += wait(8_000);
      emit("item_added", { link_session_id: session, item_id, ...where });
      const itemAddedAt = t;
      if (random() < 0.2) events.push({ event_id: `hist-${options.seed ?? 7}-${i}-report`, name: "report_ready", occurred_at: itemAddedAt + wait(5 * MINUTE), customer_hash, item_id });
      if (random() < 0.05) break journey;
      t += wait(3 * MINUTE);
      emit("processor_token_created", { item_id });
      if (random() < 0.1 - lift) break journey;
      t += wait(6 * HOUR);
      emit("account_linked", { item_id });
    }
    const happened = events.filter((e) => e.occurred_at <= options.now);
    // Later visits that open Link and close it again, spread between the journey's end and now.
    let reopen = Math.max(...happened.map((e) => e.occurred_at));
    while (options.eventsPerCustomer && happened.length < options.eventsPerCustomer) {
      reopen += Math.round((options.now - reopen) * random() * 0.5);
      happened.push({ event_id: `hist-${options.seed ?? 7}-${i}-${happened.length}`, name: happened.length % 2 ? "link_exit" : "link_started", occurred_at: reopen, customer_hash });
    }
    yield happened;
  }
}

/** Posts events to a Linkdesk console's ingest API in batches of at most 1,000. */
export async function postFunnelEvents(baseUrl: string, apiKey: string, events: PublisherEvent[]): Promise<{ accepted: number; duplicates: number; rejected: number }> {
  const totals = { accepted: 0, duplicates: 0, rejected: 0 };
  for (let i = 0; i < events.length; i += 1000) {
    const res = await request(`${baseUrl}/api/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ events: events.slice(i, i + 1000) }),
    });
    const body = (await res.body.json()) as { accepted?: number; duplicates?: number; rejected?: number; message?: string };
    if (res.statusCode !== 200) throw new Error(`POST /api/events answered ${res.statusCode}: ${body.message ?? JSON.stringify(body).slice(0, 300)}`);
    totals.accepted += body.accepted ?? 0;
    totals.duplicates += body.duplicates ?? 0;
    totals.rejected += body.rejected ?? 0;
  }
  return totals;
}
