import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../../db/open";
import { webhookDeliveries } from "../../db/schema";

// No usable token at rest or on a page: the value of every key ending in "_token" or "_tokens" in a webhook body
// (Plaid's LINK webhooks carry public_token and public_tokens) is replaced with a visible mark before the body is
// stored. The rest of the bytes, their layout included, stay as received, so the page and the text search still show
// and find them; the stored body_sha256 remains the hash of the bytes as received, which the signature covered.

export const REDACTED = "[redacted]";
const TOKEN_KEY = /_tokens?$/;
// A key ending in _token(s), then its value: one string, or an array of strings.
const TOKEN_VALUE = /("[A-Za-z0-9_]*_tokens?"\s*:\s*)("(?:[^"\\]|\\.)*"|\[\s*(?:"(?:[^"\\]|\\.)*"\s*,?\s*)*\])/g;
const STRING = /"(?:[^"\\]|\\.)*"/g;

/** The body to store: token values replaced with the mark. A body without a token is returned as it is. */
export function redactTokens(raw: Buffer): Buffer {
  // The receiver's hot path: most bodies (ITEM, TRANSACTIONS, CHECK_REPORT webhooks) have no token and no escape.
  if (!raw.includes("_token") && !raw.includes("\\u")) return raw;
  const text = raw.toString("utf8");
  const replaced = text.replace(TOKEN_VALUE, (_m, key: string, value: string) => key + (value.startsWith("[") ? value.replace(STRING, `"${REDACTED}"`) : `"${REDACTED}"`));
  // A body the pattern cannot see into (a key written with \u escapes, say) is stored re-serialised instead.
  let parsed: unknown;
  try {
    parsed = JSON.parse(replaced);
  } catch {
    return Buffer.from(replaced, "utf8");
  }
  return hasToken(parsed) ? Buffer.from(JSON.stringify(redactValue(parsed), null, 2), "utf8") : Buffer.from(replaced, "utf8");
}

function hasToken(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasToken);
  if (!value || typeof value !== "object") return false;
  return Object.entries(value).some(([k, v]) => (TOKEN_KEY.test(k) && !isRedacted(v)) || hasToken(v));
}

const isRedacted = (v: unknown): boolean => v === REDACTED || v === null || (Array.isArray(v) && v.every((x) => x === REDACTED));

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (!value || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, TOKEN_KEY.test(k) ? (Array.isArray(v) ? v.map(() => REDACTED) : REDACTED) : redactValue(v)]));
}

/**
 * Start-up: redacts deliveries stored before redaction existed, in place and in one transaction. Idempotent: a body
 * already redacted is left alone. Only LINK deliveries carry tokens, and they are found by the type index.
 */
export function redactStoredWebhookBodies(db: Db): number {
  return db.transaction((tx) => {
    const rows = tx
      .select({ id: webhookDeliveries.id, body: webhookDeliveries.body })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.webhookType, "LINK"), sql`instr(${webhookDeliveries.body}, '_token') > 0`))
      .all();
    let changed = 0;
    for (const row of rows) {
      const body = redactTokens(row.body);
      if (!body.equals(row.body)) {
        tx.update(webhookDeliveries).set({ body }).where(eq(webhookDeliveries.id, row.id)).run();
        changed++;
      }
    }
    return changed;
  });
}
