// Values the Plaid Check pages show and the server filters by: shared, so kept out of the server-only modules.

export type ReportState = "queued" | "pending" | "stuck" | "ready" | "expired" | "failed";
export const REPORT_STATES = ["queued", "pending", "stuck", "ready", "expired", "failed"] as const satisfies readonly ReportState[];

export const AGES = { "1h": 3600_000, "24h": 24 * 3600_000, "7d": 7 * 24 * 3600_000, "30d": 30 * 24 * 3600_000 } as const;
export const AGE_LABELS: Record<string, string> = { "1h": "in the last hour", "24h": "in the last 24 hours", "7d": "in the last 7 days", "30d": "in the last 30 days", older: "more than 30 days ago" };

export const MAX_BULK_ROWS = 5000;
export const BULK_OUTCOMES = ["waiting", "queued", "cooldown", "no_user", "invalid", "duplicate", "cancelled"] as const;
export type BulkOutcome = (typeof BULK_OUTCOMES)[number];
