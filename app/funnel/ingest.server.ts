import { z } from "zod";
import type { Db } from "../../db/open";
import { recordFunnelEvents, type FunnelEventInput, type IdConflict } from "./record.server";
import { IDENTITY_ATTRIBUTE_MESSAGE, isIdentityAttribute } from "./identity-attributes";
import { EVENT_NAMES } from "./steps";
import { pluralWord } from "../lib/plural";

export const MAX_BATCH_EVENTS = 1000;
export const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_ATTRIBUTES = 20;
const FUTURE_TOLERANCE_MS = 5 * 60_000;
const OLDEST = Date.UTC(2015, 0, 1);

// eslint-disable-next-line no-control-regex
const printable = (max: number) => z.string().min(1, "must not be empty").max(max, `must be at most ${max} characters`).regex(/^[^\u0000-\u001f\u007f]*$/, "must not contain control characters");
const optionalId = (max: number) => printable(max).nullish();

const attributeValue = z.union([z.string().max(200, "attribute values must be at most 200 characters"), z.number().finite(), z.boolean()], {
  error: "attribute values must be strings, numbers or booleans",
});

const eventSchema = z.strictObject(
  {
    event_id: printable(128),
    name: z.enum(EVENT_NAMES, { error: `must be one of: ${EVENT_NAMES.join(", ")}` }),
    occurred_at: z.union([z.string(), z.number()], { error: "must be an ISO 8601 time with a zone, or epoch milliseconds" }),
    customer_hash: z
      .string({ error: "is required: the customer's 64-hex hash (never the raw customer id)" })
      .regex(/^[0-9a-fA-F]{64}$/, "must be the customer's 64-hex hash (never the raw customer id)")
      .transform((v) => v.toLowerCase()),
    link_session_id: optionalId(128),
    item_id: optionalId(128),
    institution_id: optionalId(64),
    institution_name: optionalId(200),
    error_code: optionalId(100),
    attributes: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, "attribute names are letters, digits and _ (40 at most), starting with a letter"), attributeValue)
      .refine((a) => Object.keys(a).length <= MAX_ATTRIBUTES, `at most ${MAX_ATTRIBUTES} attributes`)
      .superRefine((a, ctx) => {
        for (const name of Object.keys(a)) if (isIdentityAttribute(name)) ctx.addIssue({ code: "custom", path: [name], message: `attribute "${name}" ${IDENTITY_ATTRIBUTE_MESSAGE}` });
      })
      .optional(),
  },
  { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown ${pluralWord(issue.keys.length, "field")}: ${issue.keys.join(", ")}` : "each event must be a JSON object") },
);

export function parseOccurredAt(value: string | number, now: number): number | string {
  const ms = typeof value === "number" ? value : /(Z|[+-]\d\d:?\d\d)$/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) return "must be an ISO 8601 time with a zone (such as 2026-11-22T10:00:00Z), or epoch milliseconds";
  if (ms > now + FUTURE_TOLERANCE_MS) return "is in the future; check the sender's clock";
  if (ms < OLDEST) return "is before 2015; epoch seconds instead of milliseconds?";
  return Math.trunc(ms);
}

export type EventResult = { index: number; event_id: string | null; status: "accepted" | "duplicate" | "rejected"; errors?: { field: string; message: string }[]; warnings?: { field: string; message: string }[] };
export type BatchOutcome = { status: number; body: { accepted: number; duplicates: number; rejected: number; results: EventResult[] } | { error: string; message: string } };

/**
 * Validates and records a batch from the publisher's backend. Each event stands alone: a bad one is reported with
 * its errors and the others are kept. Accepted events land in one transaction.
 */
export function ingestBatch(db: Db, raw: string, keyId: number, now: Date): BatchOutcome {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { status: 400, body: { error: "invalid_json", message: "The body is not valid JSON." } };
  }
  const events = Array.isArray(body) ? body : body && typeof body === "object" ? (body as { events?: unknown }).events : undefined;
  if (!Array.isArray(events)) return { status: 400, body: { error: "invalid_batch", message: 'Send {"events": [ … ]}.' } };
  if (events.length === 0) return { status: 400, body: { error: "empty_batch", message: "The batch has no events." } };
  if (events.length > MAX_BATCH_EVENTS) return { status: 413, body: { error: "batch_too_large", message: `A batch holds at most ${MAX_BATCH_EVENTS} events; this one has ${events.length}. Split it.` } };

  const results: EventResult[] = [];
  const valid: { index: number; input: FunnelEventInput }[] = [];
  events.forEach((event: unknown, index) => {
    const eventId = event && typeof event === "object" && typeof (event as { event_id?: unknown }).event_id === "string" ? (event as { event_id: string }).event_id : null;
    const parsed = eventSchema.safeParse(event);
    const errors = parsed.success ? [] : parsed.error.issues.map((i) => ({ field: i.path.join(".") || "(event)", message: i.message }));
    const at = parsed.success ? parseOccurredAt(parsed.data.occurred_at, now.getTime()) : 0;
    if (typeof at === "string") errors.push({ field: "occurred_at", message: at });
    if (!parsed.success || typeof at === "string") {
      results[index] = { index, event_id: eventId, status: "rejected", errors };
      return;
    }
    const e = parsed.data;
    valid.push({
      index,
      input: {
        eventId: `api:${e.event_id}`,
        name: e.name,
        occurredAt: at,
        source: "api",
        customerHash: e.customer_hash,
        linkSessionId: e.link_session_id,
        itemId: e.item_id,
        institutionId: e.institution_id,
        institutionName: e.institution_name,
        errorCode: e.error_code,
        attributes: e.attributes,
        apiKeyId: keyId,
      },
    });
  });
  const conflicts: IdConflict[][] = [];
  const outcomes = db.transaction((tx) => recordFunnelEvents(tx, valid.map((v) => v.input), now, conflicts));
  valid.forEach((v, i) => {
    const warnings = conflicts[i]?.map((c) => ({ field: c.field, message: `already belongs to another customer: the event is kept, the ${c.field} stays with its first customer` }));
    results[v.index] = { index: v.index, event_id: v.input.eventId.slice(4), status: outcomes[i]!, ...(warnings ? { warnings } : {}) };
  });
  const tally = (s: EventResult["status"]) => results.filter((r) => r.status === s).length;
  const accepted = tally("accepted");
  const duplicates = tally("duplicate");
  return { status: accepted + duplicates ? 200 : 422, body: { accepted, duplicates, rejected: tally("rejected"), results } };
}
