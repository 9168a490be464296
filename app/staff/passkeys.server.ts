import { isIP } from "node:net";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { and, asc, eq } from "drizzle-orm";
import type { Db, Queryable } from "../../db/open";
import { staffPasskeys } from "../../db/schema";
import type { Config } from "../config/env.server";
import { isPublicOrigin } from "../lib/public-origin.server";
import { consumeAuthFlow, createAuthFlow, type AuthFlowPurpose } from "./auth-flows.server";

// Passkeys (WebAuthn) through @simplewebauthn/server. The relying party is the console's own origin: the origin a
// request came from (its Origin header, else its URL) must be one of config.publicOrigins, and its host name is the
// RP ID. Each challenge lives in auth_flows (webauthn_register / webauthn_login / webauthn_step_up) and is consumed
// by the first answer, right or wrong. An assertion must name a credential of the expected account (none is named
// in advance for the passwordless sign-in, which then requires user verification).

// Longer than the browser's own timeout (a minute), shorter than the sign-in step around it (five).
export const CHALLENGE_TTL_MS = 2 * 60_000;
const RP_NAME = "Linkdesk";

export type PasskeyDeps = { db: Db; config: Config; now: () => Date };

export class PasskeyRefused extends Error {
  constructor(
    public readonly status: 400 | 401 | 403 | 404,
    message: string,
    /** The audit reason, a short code. */
    public readonly reason: string,
    /** The account the refusal concerns, when known (for the audit entry and the throttle). */
    public readonly staffUserId: number | null = null,
  ) {
    super(message);
    this.name = "PasskeyRefused";
  }
}

export type RelyingParty = { rpID: string; origin: string };

/** The relying party of a request: its origin, which must be the console's, and that origin's host name. */
export function relyingParty(config: Pick<Config, "publicOrigins">, request: Request): RelyingParty {
  const origin = (request.headers.get("Origin") ?? new URL(request.url).origin).toLowerCase();
  if (!isPublicOrigin(config, origin)) {
    throw new PasskeyRefused(400, "Passkeys work only on the console's own address; open the console from its public address.", "origin not the console's");
  }
  const rpID = new URL(origin).hostname;
  if (isIP(rpID.replace(/^\[|\]$/g, ""))) {
    throw new PasskeyRefused(400, `Passkeys need the console to be opened by a host name, not an IP address (${rpID}): try localhost instead.`, "IP address origin");
  }
  return { rpID, origin };
}

export type StoredPasskey = { id: string; name: string; createdAt: Date; lastUsedAt: Date | null; backedUp: boolean };

export function listPasskeys(db: Queryable, staffUserId: number): StoredPasskey[] {
  return db
    .select({ id: staffPasskeys.id, name: staffPasskeys.name, createdAt: staffPasskeys.createdAt, lastUsedAt: staffPasskeys.lastUsedAt, backedUp: staffPasskeys.backedUp })
    .from(staffPasskeys)
    .where(eq(staffPasskeys.staffUserId, staffUserId))
    .orderBy(asc(staffPasskeys.createdAt))
    .all();
}

export function hasPasskey(db: Queryable, staffUserId: number): boolean {
  return Boolean(db.select({ id: staffPasskeys.id }).from(staffPasskeys).where(eq(staffPasskeys.staffUserId, staffUserId)).get());
}

/** Removes one of the account's passkeys; false when it has none of that id. */
export function removePasskey(db: Queryable, staffUserId: number, id: string): boolean {
  return db.delete(staffPasskeys).where(and(eq(staffPasskeys.staffUserId, staffUserId), eq(staffPasskeys.id, id))).run().changes === 1;
}

export async function startPasskeyRegistration(
  deps: PasskeyDeps,
  request: Request,
  staff: { id: number; email: string; name: string },
): Promise<{ flowId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const rp = relyingParty(deps.config, request);
  const existing = deps.db.select({ id: staffPasskeys.id, transports: staffPasskeys.transports }).from(staffPasskeys).where(eq(staffPasskeys.staffUserId, staff.id)).all();
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: rp.rpID,
    userName: staff.email,
    userDisplayName: staff.name,
    userID: new TextEncoder().encode(`staff:${staff.id}`),
    attestationType: "none",
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports ?? undefined })),
    // Discoverable, so that the same passkey can sign in without the password.
    authenticatorSelection: { residentKey: "required", userVerification: "preferred" },
  });
  const flowId = createAuthFlow(deps.db, {
    purpose: "webauthn_register",
    staffUserId: staff.id,
    data: { challenge: options.challenge, ...rp },
    ttlMs: CHALLENGE_TTL_MS,
    now: deps.now(),
  });
  return { flowId, options };
}

function parseJson<T>(raw: unknown, what: string): T {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 20_000) throw new PasskeyRefused(400, `The ${what} is missing: use the passkey button again.`, "no response");
  try {
    const value: unknown = JSON.parse(raw);
    if (!value || typeof value !== "object" || typeof (value as { id?: unknown }).id !== "string") throw new Error("not a credential");
    return value as T;
  } catch {
    throw new PasskeyRefused(400, `The ${what} could not be read: use the passkey button again.`, "unreadable response");
  }
}

const EXPIRED = "This passkey request has expired or was already used: use the passkey button again.";

export async function finishPasskeyRegistration(
  deps: PasskeyDeps,
  staffUserId: number,
  input: { flowId: unknown; response: unknown; name: unknown },
): Promise<{ id: string; name: string }> {
  const name = typeof input.name === "string" ? input.name.trim().slice(0, 60) : "";
  const response = parseJson<RegistrationResponseJSON>(input.response, "passkey's answer");
  const flow = consumeAuthFlow(deps.db, typeof input.flowId === "string" ? input.flowId : null, "webauthn_register", deps.now());
  if (!flow || flow.staffUserId !== staffUserId) throw new PasskeyRefused(400, EXPIRED, "challenge expired or missing", staffUserId);
  const { challenge, origin, rpID } = flow.data as { challenge: string; origin: string; rpID: string };
  let verification;
  try {
    verification = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: origin, expectedRPID: rpID, requireUserVerification: false });
  } catch (error) {
    throw new PasskeyRefused(400, `The passkey could not be registered: ${(error as Error).message}`, "registration refused", staffUserId);
  }
  if (!verification.verified) throw new PasskeyRefused(400, "The passkey could not be registered: its answer did not verify.", "registration refused", staffUserId);
  const info = verification.registrationInfo;
  const taken = deps.db.select({ id: staffPasskeys.id }).from(staffPasskeys).where(eq(staffPasskeys.id, info.credential.id)).get();
  if (taken) throw new PasskeyRefused(400, "This passkey is already registered.", "already registered", staffUserId);
  const finalName = name || `Passkey ${listPasskeys(deps.db, staffUserId).length + 1}`;
  deps.db
    .insert(staffPasskeys)
    .values({
      id: info.credential.id,
      staffUserId,
      publicKey: Buffer.from(info.credential.publicKey).toString("base64url"),
      counter: info.credential.counter,
      transports: info.credential.transports ?? null,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      name: finalName,
      createdAt: deps.now(),
    })
    .run();
  return { id: info.credential.id, name: finalName };
}

export type AssertionPurpose = Extract<AuthFlowPurpose, "webauthn_login" | "webauthn_step_up">;

/**
 * A challenge for signing in with a passkey: for a known account (the second factor, a step-up) its passkeys are
 * named; without one (the passwordless sign-in) any discoverable credential may answer, with user verification.
 */
export async function startPasskeyAssertion(
  deps: PasskeyDeps,
  request: Request,
  input: { staffUserId: number | null; purpose: AssertionPurpose },
): Promise<{ flowId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const rp = relyingParty(deps.config, request);
  const allow =
    input.staffUserId === null
      ? undefined
      : deps.db
          .select({ id: staffPasskeys.id, transports: staffPasskeys.transports })
          .from(staffPasskeys)
          .where(eq(staffPasskeys.staffUserId, input.staffUserId))
          .all()
          .map((c) => ({ id: c.id, transports: c.transports ?? undefined }));
  if (allow && allow.length === 0) throw new PasskeyRefused(400, "This account has no passkey: use a code instead.", "no passkey", input.staffUserId);
  const options = await generateAuthenticationOptions({
    rpID: rp.rpID,
    allowCredentials: allow,
    userVerification: input.staffUserId === null ? "required" : "preferred",
  });
  const flowId = createAuthFlow(deps.db, {
    purpose: input.purpose,
    staffUserId: input.staffUserId,
    data: { challenge: options.challenge, ...rp },
    ttlMs: CHALLENGE_TTL_MS,
    now: deps.now(),
  });
  return { flowId, options };
}

/**
 * Verifies a passkey's answer to a challenge made by startPasskeyAssertion: the challenge is consumed, the
 * credential must be known and (when an account is expected) belong to that account, and the signature, origin, RP
 * ID, counter and (passwordless) user verification must check. Gives back the account the passkey belongs to.
 */
export async function verifyPasskeyAssertion(
  deps: PasskeyDeps,
  input: { flowId: unknown; response: unknown; staffUserId: number | null; purpose: AssertionPurpose },
): Promise<{ staffUserId: number; passkeyId: string; name: string }> {
  const response = parseJson<AuthenticationResponseJSON>(input.response, "passkey's answer");
  const flow = consumeAuthFlow(deps.db, typeof input.flowId === "string" ? input.flowId : null, input.purpose, deps.now());
  if (!flow || flow.staffUserId !== input.staffUserId) throw new PasskeyRefused(400, EXPIRED, "challenge expired or missing", input.staffUserId);
  const passkey = deps.db.select().from(staffPasskeys).where(eq(staffPasskeys.id, response.id)).get();
  if (!passkey) throw new PasskeyRefused(401, "This passkey is not registered with Linkdesk.", "unknown passkey", input.staffUserId);
  if (input.staffUserId !== null && passkey.staffUserId !== input.staffUserId) {
    throw new PasskeyRefused(401, "This passkey belongs to another account.", "passkey of another account", input.staffUserId);
  }
  const { challenge, origin, rpID } = flow.data as { challenge: string; origin: string; rpID: string };
  const passwordless = input.staffUserId === null;
  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: origin,
      expectedRPID: rpID,
      requireUserVerification: passwordless,
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, "base64url")),
        counter: passkey.counter,
        transports: (passkey.transports ?? undefined) as never,
      },
    });
  } catch (error) {
    const message = (error as Error).message;
    const wrongOrigin = /origin|RP ID/i.test(message);
    throw new PasskeyRefused(
      401,
      wrongOrigin ? "This passkey answer was made for another site, so it was refused." : `The passkey could not be verified: ${message}`,
      wrongOrigin ? "passkey from another origin" : "passkey did not verify",
      passkey.staffUserId,
    );
  }
  if (!verification.verified) throw new PasskeyRefused(401, "The passkey could not be verified.", "passkey did not verify", passkey.staffUserId);
  deps.db
    .update(staffPasskeys)
    .set({ counter: verification.authenticationInfo.newCounter, lastUsedAt: deps.now(), backedUp: verification.authenticationInfo.credentialBackedUp })
    .where(eq(staffPasskeys.id, passkey.id))
    .run();
  return { staffUserId: passkey.staffUserId, passkeyId: passkey.id, name: passkey.name };
}
