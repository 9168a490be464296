import { randomUUID } from "node:crypto";
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * What never reaches a log line, wherever it appears in what is logged: session cookies, credentials, tokens and
 * keys, and raw customer ids. Paths are pino's (`*` is one level); values are replaced, the keys stay so a reader
 * sees that something was there.
 */
export const REDACTED_PATHS = [
  "req.headers.cookie",
  "req.headers.authorization",
  'req.headers["plaid-verification"]',
  'req.headers["plaid-secret"]',
  'res.headers["set-cookie"]',
  ...["password", "newPassword", "secret", "token", "accessToken", "access_token", "publicToken", "public_token", "processorToken", "processor_token", "userToken", "user_token", "linkToken", "link_token", "apiKey", "api_key", "sessionToken", "customerId", "customer_id", "rawCustomerId", "client_secret"].flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

export function createLogger(options: { level: string; pretty?: boolean; destination?: DestinationStream }): Logger {
  const base = {
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
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
