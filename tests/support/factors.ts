import { createHash, createSign, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import { Secret, TOTP } from "otpauth";
import { ORIGIN, type Harness } from "./context";

// Test support for second factors: a software WebAuthn authenticator that makes real ES256 credentials, attestation
// objects and signed assertions (the server verifies them as it would a browser's), a TOTP code maker, and a small
// client that calls route modules with a cookie jar.

const b64url = (b: Uint8Array | Buffer) => Buffer.from(b).toString("base64url");
const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest();

export type SoftCredential = { id: Buffer; privateKey: KeyObject; x: Buffer; y: Buffer; counter: number; userHandle: string | null };

export class SoftAuthenticator {
  credentials: SoftCredential[] = [];

  /** Answers navigator.credentials.create() for these options, as a platform authenticator with user verification. */
  register(options: { challenge: string; rp: { id?: string }; user: { id: string } }, opts: { origin?: string; rpId?: string } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const cred: SoftCredential = { id: randomBytes(16), privateKey, x: Buffer.from(jwk.x!, "base64url"), y: Buffer.from(jwk.y!, "base64url"), counter: 0, userHandle: options.user.id };
    this.credentials.push(cred);
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(cred.x)],
      [-3, new Uint8Array(cred.y)],
    ]);
    const coseBytes = Buffer.from(isoCBOR.encode(cose as never));
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(cred.id.length);
    const rpId = opts.rpId ?? options.rp.id ?? new URL(opts.origin ?? ORIGIN).hostname;
    const authData = Buffer.concat([sha256(rpId), Buffer.from([0x45]), Buffer.alloc(4), Buffer.alloc(16), idLength, cred.id, coseBytes]);
    const attestationObject = isoCBOR.encode(new Map<string, unknown>([["fmt", "none"], ["attStmt", new Map()], ["authData", new Uint8Array(authData)]]) as never);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.create", challenge: options.challenge, origin: opts.origin ?? ORIGIN, crossOrigin: false }));
    return {
      credential: cred,
      response: {
        id: b64url(cred.id),
        rawId: b64url(cred.id),
        type: "public-key",
        response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ["internal"] },
        clientExtensionResults: {},
        authenticatorAttachment: "platform",
      },
    };
  }

  /** Answers navigator.credentials.get() with one credential: a real signature over authenticatorData ‖ SHA-256(clientDataJSON). */
  assert(cred: SoftCredential, options: { challenge: string; rpId?: string }, opts: { origin?: string; rpId?: string; userVerified?: boolean } = {}) {
    cred.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(cred.counter);
    const rpId = opts.rpId ?? options.rpId ?? new URL(opts.origin ?? ORIGIN).hostname;
    const flags = 0x01 | (opts.userVerified === false ? 0 : 0x04);
    const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([flags]), counter]);
    const clientDataJSON = Buffer.from(JSON.stringify({ type: "webauthn.get", challenge: options.challenge, origin: opts.origin ?? ORIGIN, crossOrigin: false }));
    const signature = createSign("SHA256").update(Buffer.concat([authenticatorData, sha256(clientDataJSON)])).sign(cred.privateKey);
    return {
      id: b64url(cred.id),
      rawId: b64url(cred.id),
      type: "public-key",
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authenticatorData), signature: b64url(signature), userHandle: cred.userHandle ?? undefined },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}

/** The code an authenticator app shows for this key at this time. */
export function totpCode(secret: string, at: Date): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate({ timestamp: at.getTime() });
}

type RouteModule = { loader?: (a: never) => unknown; action?: (a: never) => unknown };
export type Answer<T = Record<string, unknown>> = { status: number; location: string | null; data: T; text: string; headers: Headers };

/** A browser's cookies for one test: Set-Cookie of each answer is kept and sent back. */
export class Client {
  cookies = new Map<string, string>();
  constructor(
    private readonly h: Harness,
    private readonly address = "127.0.0.1",
  ) {}

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  keep(headers: Headers) {
    for (const set of headers.getSetCookie()) {
      const [pair, ...attrs] = set.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1);
      if (value === "" || attrs.some((a) => /max-age=0\b/i.test(a.trim()) || /expires=thu, 01 jan 1970/i.test(a.trim()))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async call<T = Record<string, unknown>>(mod: RouteModule, path: string, init: { form?: Record<string, string | string[]>; params?: Record<string, string>; origin?: string } = {}): Promise<Answer<T>> {
    const method = init.form ? "POST" : "GET";
    const headers = new Headers({ "User-Agent": "vitest" });
    if (this.cookies.size) headers.set("Cookie", this.cookieHeader());
    if (method === "POST") headers.set("Origin", init.origin ?? ORIGIN);
    let body: URLSearchParams | undefined;
    if (init.form) {
      body = new URLSearchParams();
      for (const [k, v] of Object.entries(init.form)) for (const one of [v].flat()) body.append(k, one);
    }
    const request = new Request(`${ORIGIN}${path}`, { method, headers, body });
    const fn = method === "POST" ? mod.action! : mod.loader!;
    try {
      const out = await fn({ request, context: this.h.context(this.address), params: init.params ?? {} } as never);
      return await this.read<T>(out);
    } catch (thrown) {
      if (thrown instanceof Response) return this.read<T>(thrown);
      throw thrown;
    }
  }

  private async read<T>(out: unknown): Promise<Answer<T>> {
    if (out instanceof Response) {
      this.keep(out.headers);
      const text = out.status >= 300 && out.status < 400 ? "" : await out.text();
      return { status: out.status, location: out.headers.get("Location"), data: {} as T, text, headers: out.headers };
    }
    if (out && typeof out === "object" && "init" in out && "data" in out) {
      const wrapped = out as { data: T; init: { status?: number; headers?: HeadersInit } | null };
      const headers = new Headers(wrapped.init?.headers);
      this.keep(headers);
      return { status: wrapped.init?.status ?? 200, location: null, data: wrapped.data, text: "", headers };
    }
    return { status: 200, location: null, data: out as T, text: "", headers: new Headers() };
  }
}
