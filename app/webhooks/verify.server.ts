import { createPublicKey, timingSafeEqual, verify, type KeyObject } from "node:crypto";
import type { JWKPublicKey, PlaidApi } from "plaid";
import { plaidCall, PlaidCallError } from "../plaid/client.server";

// Plaid's documented procedure: an ES256 JWT in Plaid-Verification whose payload carries iat and the SHA-256 of the
// exact raw body; the key comes from /webhook_verification_key/get by kid.

export type Verification =
  | { ok: true; kid: string; iat: number }
  | { ok: false; status: 400 | 401 | 503; reason: string; kid?: string; iat?: number };

const MAX_AGE_S = 5 * 60;
const MAX_FUTURE_S = 60;
const KEY_REFRESH_MS = 15 * 60_000;

type CachedKey = { jwk: JWKPublicKey; key: KeyObject; fetchedAt: number };

export class KeyUnavailable extends Error {}

/** How long Plaid's "no such key" is believed before that kid may be asked about again. */
export const KEY_MISS_TTL_MS = 10 * 60_000;
/** Key fetches to Plaid at most, in any minute, whatever the deliveries claim. */
export const MAX_KEY_FETCHES_PER_MINUTE = 10;
const MAX_REMEMBERED_MISSES = 10_000;

/**
 * Verification keys by kid. An unknown kid is fetched; a cached key is fetched again after a while so that an
 * `expired_at` set by a rotation is noticed. A forged delivery must not be able to make the console call Plaid at
 * will: a kid Plaid does not know is remembered as unknown for a while, concurrent deliveries naming the same kid
 * share one fetch, and fetches are capped per minute (past the cap an unknown kid is answered 503, which Plaid
 * retries, and a known key is used as cached). A genuinely new key after a rotation has never been asked about, so
 * it is fetched and verifies.
 */
export class PlaidKeyCache {
  private readonly keys = new Map<string, CachedKey>();
  private readonly misses = new Map<string, number>();
  private readonly inflight = new Map<string, Promise<CachedKey | null>>();
  private fetchTimes: number[] = [];
  constructor(
    private readonly fetchKey: (kid: string) => Promise<JWKPublicKey | null>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(kid: string): Promise<CachedKey | null> {
    const now = this.now();
    const cached = this.keys.get(kid);
    if (cached && now - cached.fetchedAt < KEY_REFRESH_MS) return cached;
    const missUntil = this.misses.get(kid);
    if (missUntil !== undefined) {
      if (now < missUntil) return null;
      this.misses.delete(kid);
    }
    const pending = this.inflight.get(kid);
    if (pending) return pending;
    this.fetchTimes = this.fetchTimes.filter((t) => now - t < 60_000);
    if (this.fetchTimes.length >= MAX_KEY_FETCHES_PER_MINUTE) {
      if (cached) return cached;
      throw new KeyUnavailable(`more than ${MAX_KEY_FETCHES_PER_MINUTE} key lookups in a minute; not asking Plaid about ${kid.slice(0, 64)} now`);
    }
    this.fetchTimes.push(now);
    const fetching = this.fetch(kid).finally(() => this.inflight.delete(kid));
    this.inflight.set(kid, fetching);
    return fetching;
  }

  private async fetch(kid: string): Promise<CachedKey | null> {
    const jwk = await this.fetchKey(kid);
    if (!jwk) {
      if (this.misses.size >= MAX_REMEMBERED_MISSES) this.misses.clear();
      this.misses.set(kid, this.now() + KEY_MISS_TTL_MS);
      this.keys.delete(kid);
      return null;
    }
    const entry = { jwk, key: createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: "jwk" }), fetchedAt: this.now() };
    this.keys.set(kid, entry);
    return entry;
  }
}

function decodeJson(segment: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8")) as unknown;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

// Plaid signs every webhook with the same few JWT headers (alg and kid): decoded once each, not per delivery.
const decodedHeaders = new Map<string, Record<string, unknown> | null>();
function decodeHeader(segment: string): Record<string, unknown> | null {
  let decoded = decodedHeaders.get(segment);
  if (decoded === undefined) {
    decoded = decodeJson(segment);
    if (decodedHeaders.size >= 64) decodedHeaders.clear();
    decodedHeaders.set(segment, decoded);
  }
  return decoded;
}

/** `bodySha256` is the lowercase hex SHA-256 of the exact raw body, computed once by the caller. */
export async function verifyPlaidWebhook(bodySha256: string, header: string | null, keys: PlaidKeyCache, nowMs: number): Promise<Verification> {
  if (!header) return { ok: false, status: 401, reason: "missing Plaid-Verification header" };
  const parts = header.split(".");
  if (parts.length !== 3) return { ok: false, status: 401, reason: "Plaid-Verification is not a compact JWT" };
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const jwtHeader = decodeHeader(encodedHeader);
  if (!jwtHeader) return { ok: false, status: 401, reason: "JWT header is not readable JSON" };
  // Checked before any key lookup: this is what stops alg "none", HS256 and other confusion attacks.
  if (jwtHeader.alg !== "ES256") return { ok: false, status: 401, reason: `JWT alg ${JSON.stringify(jwtHeader.alg ?? null)} refused; only ES256 is accepted` };
  const kid = typeof jwtHeader.kid === "string" ? jwtHeader.kid : undefined;
  if (!kid) return { ok: false, status: 401, reason: "JWT header has no kid" };
  // The claims are checked before the signature: they are cheap, and whatever fails them is refused whether or not
  // the signature holds, so a replayed or tampered delivery costs no elliptic-curve work.
  const payload = decodeJson(encodedPayload);
  const iat = typeof payload?.iat === "number" ? payload.iat : undefined;
  if (iat === undefined) return { ok: false, status: 401, reason: "JWT payload has no iat", kid };
  const nowS = nowMs / 1000;
  if (nowS - iat > MAX_AGE_S) return { ok: false, status: 401, reason: `signed ${Math.round(nowS - iat)} s ago; more than 5 minutes old`, kid, iat };
  if (iat - nowS > MAX_FUTURE_S) return { ok: false, status: 401, reason: `signed ${Math.round(iat - nowS)} s in the future`, kid, iat };
  const claimed = typeof payload?.request_body_sha256 === "string" ? payload.request_body_sha256 : "";
  const same = claimed.length === bodySha256.length && timingSafeEqual(Buffer.from(claimed), Buffer.from(bodySha256));
  if (!same) return { ok: false, status: 401, reason: "request_body_sha256 does not match the body received", kid, iat };
  let cached;
  try {
    cached = await keys.get(kid);
  } catch (error) {
    return { ok: false, status: 503, reason: `verification key could not be fetched: ${(error as Error).message}`, kid, iat };
  }
  if (!cached) return { ok: false, status: 401, reason: `unknown verification key ${kid}`, kid, iat };
  if (cached.jwk.expired_at !== null && iat > cached.jwk.expired_at) {
    return { ok: false, status: 401, reason: `signed with key ${kid} after it expired`, kid, iat };
  }
  // Synchronous on purpose: on a small machine, handing the check to libuv's thread pool costs more in thread
  // wake-ups than it frees on the event loop (measured with bench/webhooks.ts).
  const signature = Buffer.from(encodedSignature, "base64url");
  if (!verify("sha256", Buffer.from(`${encodedHeader}.${encodedPayload}`), { key: cached.key, dsaEncoding: "ieee-p1363" }, signature)) {
    return { ok: false, status: 401, reason: "signature does not verify", kid, iat };
  }
  return { ok: true, kid, iat };
}

/** Fetches a key through the Plaid client; an unknown kid is `null`, any other failure is thrown. */
export function plaidKeyFetcher(plaid: PlaidApi) {
  return async (kid: string): Promise<JWKPublicKey | null> => {
    try {
      return (await plaidCall(() => plaid.webhookVerificationKeyGet({ key_id: kid }))).key;
    } catch (error) {
      if (error instanceof PlaidCallError && error.failure.errorCode === "INVALID_WEBHOOK_VERIFICATION_KEY_ID") return null;
      throw error;
    }
  };
}
