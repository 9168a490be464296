import { randomUUID } from "node:crypto";
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * What never reaches a log line, wherever it appears in what is logged (up to six levels down): session cookies,
 * credentials, tokens and keys, and raw customer ids. Keys are compared without case, `-` or `_` (so `access_token`,
 * `accessToken` and `Access-Token` are one); values are replaced, the keys stay so a reader sees something was there.
 * One pass over the logged object's keys: pino's path-based redaction with wildcards cost ten times more a line.
 */
export const REDACTED_KEYS = [
  "cookie", "set-cookie", "authorization", "plaid-verification", "plaid-secret",
  "password", "new_password", "secret", "client_secret",
  "token", "access_token", "public_token", "processor_token", "user_token", "link_token", "session_token",
  "api_key", "customer_id", "raw_customer_id",
] as const;
const SENSITIVE = new Set(REDACTED_KEYS.map((k) => k.replace(/[-_]/g, "")));
const normalise = (key: string) => key.toLowerCase().replace(/[-_]/g, "");
export const CENSOR = "[redacted]";

function scrub(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object" || depth > 6 || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SENSITIVE.has(normalise(k)) ? CENSOR : scrub(v, depth + 1);
  return out;
}

export function createLogger(options: { level: string; pretty?: boolean; destination?: DestinationStream }): Logger {
  const base = {
    level: options.level,
    formatters: { log: (object: Record<string, unknown>) => scrub(object, 0) as Record<string, unknown> },
    base: { service: "linkdesk" },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
  };
  if (options.destination) return pino(base, options.destination);
  // Readable lines while developing; JSON lines everywhere else.
  if (options.pretty) return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } });
  return pino(base);
}

const ACCEPTABLE_ID = /^[\w.:-]{1,128}$/;

/**
 * The request's id: the one a trusted proxy put in X-Request-Id (when it looks like an id), else a new one. A client
 * that talks to the console directly cannot choose the id its requests are logged under.
 */
export function requestIdFor(header: string | string[] | undefined, fromTrustedProxy: boolean): string {
  const value = Array.isArray(header) ? header[0] : header;
  if (fromTrustedProxy && value && ACCEPTABLE_ID.test(value)) return value;
  return randomUUID();
}
