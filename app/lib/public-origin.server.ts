import type { Config } from "../config/env.server";

// The one place that knows the console's public origin(s). A state-changing request is accepted only when its Origin
// is one of them; the Host header (which the client chooses) is never the reference.

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** When PUBLIC_ORIGIN is unset: the address the server listens on, and localhost beside a loopback address. */
export function listenOrigins(host: string, port: number): string[] {
  const bracketed = host.includes(":") ? `[${host}]` : host;
  const origins = [`http://${bracketed}:${port}`];
  if (LOOPBACK.has(host)) for (const alias of ["127.0.0.1", "localhost", "[::1]"]) origins.push(`http://${alias}:${port}`);
  return [...new Set(origins)];
}

export function isPublicOrigin(config: Pick<Config, "publicOrigins">, origin: string): boolean {
  return config.publicOrigins.includes(origin.toLowerCase());
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export type OriginVerdict = { ok: true; origin: string | null } | { ok: false; reason: string };

/**
 * Whether a request may change state: safe methods always; otherwise its Origin must be one of ours. Browsers send
 * Origin on every POST; Sec-Fetch-Site "same-origin" is the fallback for one that does not. Neither is refused.
 */
export function checkOrigin(config: Pick<Config, "publicOrigins">, method: string, origin: string | null, fetchSite: string | null): OriginVerdict {
  if (SAFE_METHODS.has(method.toUpperCase())) return { ok: true, origin: null };
  if (origin) return isPublicOrigin(config, origin) ? { ok: true, origin: origin.toLowerCase() } : { ok: false, reason: `Origin ${JSON.stringify(origin.slice(0, 200))} is not this console's` };
  return fetchSite === "same-origin" ? { ok: true, origin: null } : { ok: false, reason: "no Origin header and not same-origin" };
}

export const CROSS_ORIGIN_MESSAGE = "This request did not come from a Linkdesk page, so it was refused.";
