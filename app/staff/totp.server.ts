import { createHash, randomInt } from "node:crypto";
import { and, eq, isNull, lt, or } from "drizzle-orm";
import { Secret, TOTP } from "otpauth";
import type { Queryable } from "../../db/open";
import { staffRecoveryCodes, staffTotp } from "../../db/schema";
import { decryptToken, encryptToken, type TokenBinding } from "../lib/token-crypto.server";

// Authenticator-app codes (RFC 6238: SHA-1, 6 digits, 30-second steps) and the one-time recovery codes beside them.
//
// - The secret is stored encrypted (app/lib/token-crypto.server.ts), bound to its row.
// - A code is accepted for the current step or one step either side (clock drift), and never twice: the step of the
//   last code accepted is kept, and a code of that step or an earlier one is refused as already used.
// - Recovery codes: ten per enrollment, 60 random bits each, shown once. Only SHA-256 of the normalized code (with
//   the account id in front, so equal codes of two accounts differ) is stored; at 60 bits of entropy a plain hash is
//   out of reach of guessing, and a code that is used is marked, never accepted again.

export const TOTP_PERIOD_SECONDS = 30;
const ISSUER = "Linkdesk";
export const RECOVERY_CODE_COUNT = 10;

export const totpBinding = (staffUserId: number): TokenBinding => ({ table: "staff_totp", column: "secret_enc", row: String(staffUserId) });

function totpOf(secretBase32: string, label: string): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: "SHA1", digits: 6, period: TOTP_PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });
}

export type TotpState = { status: "none" } | { status: "pending"; secret: string; uri: string } | { status: "confirmed"; confirmedAt: Date };

export function totpState(db: Queryable, key: Buffer, staff: { id: number; email: string }): TotpState {
  const row = db.select().from(staffTotp).where(eq(staffTotp.staffUserId, staff.id)).get();
  if (!row) return { status: "none" };
  if (row.confirmedAt) return { status: "confirmed", confirmedAt: row.confirmedAt };
  const secret = decryptToken(key, row.secretEnc, totpBinding(staff.id));
  return { status: "pending", secret, uri: totpOf(secret, staff.email).toString() };
}

export function hasConfirmedTotp(db: Queryable, staffUserId: number): boolean {
  const row = db.select({ confirmedAt: staffTotp.confirmedAt }).from(staffTotp).where(eq(staffTotp.staffUserId, staffUserId)).get();
  return Boolean(row?.confirmedAt);
}

/** Starts (or restarts) an enrollment with a fresh secret. Refused while a confirmed one exists: remove it first. */
export function beginTotpEnrollment(db: Queryable, key: Buffer, staff: { id: number; email: string }, now: Date): { secret: string; uri: string } | null {
  if (hasConfirmedTotp(db, staff.id)) return null;
  const secret = new Secret({ size: 20 }).base32;
  const secretEnc = encryptToken(key, secret, totpBinding(staff.id));
  db.insert(staffTotp)
    .values({ staffUserId: staff.id, secretEnc, confirmedAt: null, lastUsedStep: null, createdAt: now })
    .onConflictDoUpdate({ target: staffTotp.staffUserId, set: { secretEnc, confirmedAt: null, lastUsedStep: null, createdAt: now } })
    .run();
  return { secret, uri: totpOf(secret, staff.email).toString() };
}

export type TotpCheck = "ok" | "wrong" | "replayed" | "none";

const looksLikeTotp = (code: string) => /^\d{6}$/.test(code);
export const normalizeTotpCode = (code: string) => code.replace(/\s+/g, "");

/**
 * Checks a code against the account's secret (the pending one when `pending`), and on success records its step so
 * that it, or any earlier code, is never accepted again. The record is a conditional update: two requests racing
 * with the same code cannot both win.
 */
export function checkTotpCode(db: Queryable, key: Buffer, staffUserId: number, rawCode: string, now: Date, opts: { pending?: boolean } = {}): TotpCheck {
  const row = db.select().from(staffTotp).where(eq(staffTotp.staffUserId, staffUserId)).get();
  if (!row || Boolean(row.confirmedAt) === Boolean(opts.pending)) return "none";
  const code = normalizeTotpCode(rawCode);
  if (!looksLikeTotp(code)) return "wrong";
  const secret = decryptToken(key, row.secretEnc, totpBinding(staffUserId));
  const delta = totpOf(secret, "").validate({ token: code, timestamp: now.getTime(), window: 1 });
  if (delta === null) return "wrong";
  const step = TOTP.counter({ period: TOTP_PERIOD_SECONDS, timestamp: now.getTime() }) + delta;
  if (row.lastUsedStep !== null && step <= row.lastUsedStep) return "replayed";
  const changed = db
    .update(staffTotp)
    .set({ lastUsedStep: step })
    .where(and(eq(staffTotp.staffUserId, staffUserId), or(isNull(staffTotp.lastUsedStep), lt(staffTotp.lastUsedStep, step))))
    .run().changes;
  return changed === 1 ? "ok" : "replayed";
}

/** Confirms a pending enrollment with its first code; gives back the recovery codes, to be shown once. */
export function confirmTotp(db: Queryable, key: Buffer, staffUserId: number, code: string, now: Date): { ok: true; recoveryCodes: string[] } | { ok: false; check: TotpCheck } {
  const check = checkTotpCode(db, key, staffUserId, code, now, { pending: true });
  if (check !== "ok") return { ok: false, check };
  db.update(staffTotp).set({ confirmedAt: now }).where(eq(staffTotp.staffUserId, staffUserId)).run();
  return { ok: true, recoveryCodes: replaceRecoveryCodes(db, staffUserId, now) };
}

export function removeTotp(db: Queryable, staffUserId: number): void {
  db.delete(staffTotp).where(eq(staffTotp.staffUserId, staffUserId)).run();
  db.delete(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffUserId, staffUserId)).run();
}

// Crockford's base 32 without the letters that read like digits: 12 characters carry 60 bits.
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const normalizeRecoveryCode = (code: string) => code.toUpperCase().replace(/[\s-]+/g, "");
const hashRecoveryCode = (staffUserId: number, code: string) => createHash("sha256").update(`${staffUserId}:${normalizeRecoveryCode(code)}`).digest("hex");

function newRecoveryCode(): string {
  let raw = "";
  for (let i = 0; i < 12; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
  return `${raw.slice(0, 4)}-${raw.slice(4, 8)}-${raw.slice(8)}`;
}

/** Replaces every recovery code of the account with ten new ones; the old ones stop working. */
export function replaceRecoveryCodes(db: Queryable, staffUserId: number, now: Date): string[] {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  db.delete(staffRecoveryCodes).where(eq(staffRecoveryCodes.staffUserId, staffUserId)).run();
  db.insert(staffRecoveryCodes)
    .values(codes.map((code) => ({ staffUserId, codeHash: hashRecoveryCode(staffUserId, code), createdAt: now })))
    .run();
  return codes;
}

export function unusedRecoveryCodes(db: Queryable, staffUserId: number): number {
  return db
    .select({ id: staffRecoveryCodes.id })
    .from(staffRecoveryCodes)
    .where(and(eq(staffRecoveryCodes.staffUserId, staffUserId), isNull(staffRecoveryCodes.usedAt)))
    .all().length;
}

export type RecoveryCheck = "ok" | "wrong" | "reused";

/** Spends one recovery code: accepted once, refused as reused after that. */
export function spendRecoveryCode(db: Queryable, staffUserId: number, code: string, now: Date): RecoveryCheck {
  if (normalizeRecoveryCode(code).length !== 12) return "wrong";
  const codeHash = hashRecoveryCode(staffUserId, code);
  const row = db
    .select({ id: staffRecoveryCodes.id, usedAt: staffRecoveryCodes.usedAt })
    .from(staffRecoveryCodes)
    .where(and(eq(staffRecoveryCodes.staffUserId, staffUserId), eq(staffRecoveryCodes.codeHash, codeHash)))
    .get();
  if (!row) return "wrong";
  if (row.usedAt) return "reused";
  const changed = db
    .update(staffRecoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(staffRecoveryCodes.id, row.id), isNull(staffRecoveryCodes.usedAt)))
    .run().changes;
  return changed === 1 ? "ok" : "reused";
}

/** Whether a submitted code is shaped like an authenticator-app code (six digits) rather than a recovery code. */
export const isTotpShaped = (code: string) => looksLikeTotp(normalizeTotpCode(code));
