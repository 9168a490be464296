import { z } from "zod";
import { parseQuery } from "../lib/query";
import type { Breakdown, FunnelQuery } from "./report.server";

const DAY_MS = 86_400_000;
export const MAX_RANGE_DAYS = 366;
export const DEFAULT_RANGE_DAYS = 30;
export const DEFAULT_WINDOW_DAYS = 14;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2026-11-22").refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), "That date does not exist");

const schema = z.object({
  from: day.optional(),
  to: day.optional(),
  window: z.coerce.number({ error: "The conversion window is a number of days" }).int("Whole days only").min(1, "At least 1 day").max(90, "At most 90 days").optional(),
  interval: z.enum(["day", "week"], { error: "Choose day or week" }).optional(),
  breakdown: z
    .string()
    .regex(/^(institution|attr:[A-Za-z][A-Za-z0-9_]{0,39})$/, "Break down by institution or by an attribute")
    .optional(),
});
const KEYS = ["from", "to", "window", "interval", "breakdown"] as const;

export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The funnel's settings from the query string. Dates are UTC days, both ends included; the defaults are the last 30
 * days and a 14-day conversion window. A bad value is reported and its default used instead.
 */
export function parseFunnelParams(params: URLSearchParams, now: Date) {
  const { data, values, errors } = parseQuery(schema, params, KEYS);
  const today = Date.parse(`${isoDay(now.getTime())}T00:00:00Z`);
  let to = data.to ? Date.parse(`${data.to}T00:00:00Z`) + DAY_MS : today + DAY_MS;
  let from = data.from ? Date.parse(`${data.from}T00:00:00Z`) : to - DEFAULT_RANGE_DAYS * DAY_MS;
  if (from >= to) {
    errors.to ??= "The end date is before the start date";
    to = today + DAY_MS;
    from = to - DEFAULT_RANGE_DAYS * DAY_MS;
  }
  if (to - from > MAX_RANGE_DAYS * DAY_MS) {
    errors.from ??= `A range is at most ${MAX_RANGE_DAYS} days`;
    from = to - MAX_RANGE_DAYS * DAY_MS;
  }
  const breakdown: Breakdown = !data.breakdown ? null : data.breakdown === "institution" ? { kind: "institution" } : { kind: "attribute", key: data.breakdown.slice(5) };
  const query: FunnelQuery = {
    from,
    to,
    windowMs: (data.window ?? DEFAULT_WINDOW_DAYS) * DAY_MS,
    interval: data.interval ?? (to - from > 60 * DAY_MS ? "week" : "day"),
    breakdown,
  };
  const settings = { from: isoDay(from), to: isoDay(to - DAY_MS), window: String(query.windowMs / DAY_MS), interval: query.interval, breakdown: data.breakdown ?? "" };
  return { query, values, errors, settings };
}

/** The query string for a set of settings, dropping the defaults' empty values. */
export function funnelSearch(settings: Record<string, string>, extra: Record<string, string> = {}): string {
  return new URLSearchParams(Object.entries({ ...settings, ...extra }).filter(([, v]) => v !== "")).toString();
}
