import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import type { JWKPublicKey } from "plaid";
import type { SimClock } from "../shared/clock";
import { uuid } from "../shared/ids";

type SigningKey = { privateKey: KeyObject; jwk: JWKPublicKey };

/** P-256 keys for Plaid-Verification. Rotation keeps old keys servable, marked with `expired_at`. */
export class KeyRing {
  private keys: SigningKey[] = [];
  constructor(private readonly clock: SimClock) {
    this.rotate();
  }
  get current(): SigningKey {
    return this.keys[this.keys.length - 1]!;
  }
  find(kid: string): JWKPublicKey | undefined {
    return this.keys.find((k) => k.jwk.kid === kid)?.jwk;
  }
  rotate(): JWKPublicKey {
    const nowSeconds = Math.floor(this.clock.now() / 1000);
    for (const key of this.keys) key.jwk.expired_at ??= nowSeconds;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const exported = publicKey.export({ format: "jwk" }) as { x: string; y: string };
    const jwk: JWKPublicKey = { alg: "ES256", created_at: nowSeconds, crv: "P-256", expired_at: null, kid: uuid(), kty: "EC", use: "sig", x: exported.x, y: exported.y };
    this.keys.push({ privateKey, jwk });
    return jwk;
  }
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

/** The Plaid-Verification header for a body: an ES256 JWT carrying iat and the body's SHA-256. */
export function signBody(body: string, key: SigningKey, nowMs: number): string {
  const header = b64url(JSON.stringify({ alg: "ES256", kid: key.jwk.kid, typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({ iat: Math.floor(nowMs / 1000), request_body_sha256: createHash("sha256").update(body).digest("hex") }),
  );
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return `${header}.${payload}.${b64url(signature)}`;
}

export type Delivery = {
  id: string;
  url: string;
  webhookType: string;
  webhookCode: string;
  body: string;
  attempts: { at: string; status: number | null; error?: string }[];
  state: "pending" | "delivered" | "gave-up";
};

const FIRST_RETRY_MS = 30_000;
const GIVE_UP_AFTER_MS = 24 * 3600_000;
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * Delivers webhooks as Plaid does: JSON pretty-printed with a 2-space indent, signed, and retried on anything but a
 * 200 (or no answer within 10 s) after 30 s and then at four times the previous wait, for up to 24 hours.
 */
export class WebhookSender {
  readonly deliveries: Delivery[] = [];
  private inFlight = new Set<Promise<void>>();

  constructor(
    private readonly clock: SimClock,
    private readonly keys: KeyRing,
  ) {}

  send(url: string, payload: { webhook_type: string; webhook_code: string } & Record<string, unknown>): Delivery {
    const delivery: Delivery = {
      id: uuid(),
      url,
      webhookType: payload.webhook_type,
      webhookCode: payload.webhook_code,
      body: JSON.stringify(payload, null, 2),
      attempts: [],
      state: "pending",
    };
    this.deliveries.push(delivery);
    this.attempt(delivery, FIRST_RETRY_MS, this.clock.now());
    return delivery;
  }

  /** Resolves when no delivery attempt is on the wire (tests wait on this instead of sleeping). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private attempt(delivery: Delivery, nextWait: number, firstAt: number): void {
    const run = this.post(delivery).then((status) => {
      if (status === 200) {
        delivery.state = "delivered";
        return;
      }
      if (this.clock.now() + nextWait - firstAt > GIVE_UP_AFTER_MS) {
        delivery.state = "gave-up";
        return;
      }
      this.clock.setTimeout(() => this.attempt(delivery, nextWait * 4, firstAt), nextWait);
    });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private async post(delivery: Delivery): Promise<number | null> {
    const at = new Date(this.clock.now()).toISOString();
    try {
      const res = await fetch(delivery.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          "Plaid-Verification": signBody(delivery.body, this.keys.current, this.clock.now()),
          "User-Agent": "Plaid Verifier",
        },
        body: delivery.body,
        signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      delivery.attempts.push({ at, status: res.status });
      return res.status;
    } catch (error) {
      delivery.attempts.push({ at, status: null, error: (error as Error).message });
      return null;
    }
  }
}
