import { z } from "zod";
import type { ExpiringSort } from "./account-links.server";

const query = z.object({
  within: z.coerce.number().int().min(1).max(365).optional(),
  sort: z.enum(["expiration", "customer", "institution"]).default("expiration"),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
});

export type ExpiringQuery = { within: number; sort: ExpiringSort; page: number; error: string | null };

/** The expiring-links filter from a query string; anything out of range falls back to the default with a message. */
export function parseExpiringQuery(params: URLSearchParams, defaultWithin: number): ExpiringQuery {
  const raw = Object.fromEntries([...params].filter(([k, v]) => ["within", "sort", "page"].includes(k) && v !== ""));
  const parsed = query.safeParse(raw);
  if (!parsed.success) return { within: defaultWithin, sort: "expiration", page: 1, error: "Days must be a whole number from 1 to 365; showing the default." };
  return { within: parsed.data.within ?? defaultWithin, sort: parsed.data.sort, page: parsed.data.page, error: null };
}
