import { z } from "zod";
import { parseQuery } from "../lib/query";
import type { AuditFilter } from "./audit.server";

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 2026-11-22")
  .refine((v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), "That is not a real date");

const query = z.object({
  staff: z.coerce.number().int().positive("Pick a staff member from the list").optional(),
  action: z
    .string()
    .max(100, "Action names are short")
    .regex(/^[a-z_.*]+$/, "Action names contain lowercase letters, dots and underscores")
    .optional(),
  customer: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^[0-9a-f]{64}$/, "A customer hash is 64 hex characters")
    .optional(),
  from: day.optional(),
  to: day.optional(),
  before: z.coerce.number().int().positive().optional(),
});

export type AuditQuery = { filter: AuditFilter; before?: number; values: Record<string, string>; errors: Record<string, string> };

/** Reads the audit page's query string; an invalid filter is reported and left out rather than failing the page. */
export function parseAuditQuery(params: URLSearchParams): AuditQuery {
  const { data: q, values, errors } = parseQuery(query, params, ["staff", "action", "customer", "from", "to", "before"]);
  const filter: AuditFilter = {
    staffUserId: q.staff,
    action: q.action,
    customerHash: q.customer,
    from: q.from ? new Date(`${q.from}T00:00:00Z`) : undefined,
    // "to" is inclusive of the whole day.
    to: q.to ? new Date(Date.parse(`${q.to}T00:00:00Z`) + 86_400_000) : undefined,
  };
  if (filter.from && filter.to && filter.from >= filter.to) errors.to = "The end date is before the start date";
  return { filter, before: q.before, values, errors };
}
