import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

// Vendor tokens at rest: AES-256-GCM under TOKEN_ENCRYPTION_KEY, a fresh 96-bit IV per value, the tag kept beside it.
const VERSION = "v1";

export function encryptToken(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64")}`;
}

export function decryptToken(key: Buffer, stored: string): string {
  const [version, payload] = stored.split(":");
  if (version !== VERSION || !payload) throw new Error("Unknown token encryption format");
  const raw = Buffer.from(payload, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

/** What may be shown of a token after its one full showing: its kind and last characters. */
export function tokenHint(token: string): string {
  const prefix = token.split("-").slice(0, 2).join("-");
  return `${prefix}-…${token.slice(-4)}`;
}
