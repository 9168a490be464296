import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

// Vendor tokens at rest: AES-256-GCM under TOKEN_ENCRYPTION_KEY, a fresh 96-bit IV per value, the tag kept beside it.
// Each value is bound to the row and column it belongs to through GCM's associated data: a ciphertext copied into
// another row (another customer's item, say) fails its tag check there instead of being used for that row.
//
//   v2:<base64(iv ‖ tag ‖ ciphertext)>   with associated data "linkdesk/v2/<table>.<column>/<row key>"
//   v1:<base64(iv ‖ tag ‖ ciphertext)>   the earlier, unbound form; rewritten as v2 at start-up, never read otherwise
const VERSION = "v2";
const LEGACY_VERSION = "v1";

/** Where a stored token belongs: its table, its column and the row's stable key. */
export type TokenBinding = { table: string; column: string; row: string };

/** The binding of each encrypted column, keyed by what never changes for the row. */
export const tokenBinding = {
  accessToken: (itemId: string): TokenBinding => ({ table: "plaid_items", column: "access_token_enc", row: itemId }),
  processorToken: (id: number): TokenBinding => ({ table: "processor_tokens", column: "token_enc", row: String(id) }),
  userToken: (customerHash: string): TokenBinding => ({ table: "cra_users", column: "user_token_enc", row: customerHash }),
  linkToken: (linkSessionId: string): TokenBinding => ({ table: "link_sessions", column: "link_token_enc", row: linkSessionId }),
};

/** A stored token that cannot be used for the row it was read from: moved from another row, altered, or unreadable. */
export class StoredTokenError extends Error {
  constructor(
    readonly binding: TokenBinding,
    readonly reason: "mismatch" | "unbound" | "format",
  ) {
    super(
      reason === "unbound"
        ? `The ${binding.column} of ${binding.table} ${binding.row} is still in the older unbound form: it could not be read when the stored tokens were re-encrypted at start-up, so it is not used.`
        : reason === "format"
          ? `The ${binding.column} of ${binding.table} ${binding.row} is not in a format Linkdesk stores tokens in, so it is not used.`
          : `The ${binding.column} of ${binding.table} ${binding.row} does not belong to this row (it was encrypted for another row, altered, or under another key), so it is not used.`,
    );
    this.name = "StoredTokenError";
  }
}

const associatedData = (b: TokenBinding) => Buffer.from(`linkdesk/${VERSION}/${b.table}.${b.column}/${b.row}`, "utf8");

function seal(key: Buffer, plaintext: string, aad: Buffer | null): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString("base64");
}

/** The plaintext, or null when the tag does not verify (wrong row, wrong key, or altered). */
function open(key: Buffer, payload: string, aad: Buffer | null): string | null {
  const raw = Buffer.from(payload, "base64");
  if (raw.length < 28) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    if (aad) decipher.setAAD(aad);
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

export function encryptToken(key: Buffer, plaintext: string, binding: TokenBinding): string {
  return `${VERSION}:${seal(key, plaintext, associatedData(binding))}`;
}

/** Decrypts a token for the row it is bound to; anything else (another row's value, the unbound v1 form) throws. */
export function decryptToken(key: Buffer, stored: string, binding: TokenBinding): string {
  const sep = stored.indexOf(":");
  const version = sep > 0 ? stored.slice(0, sep) : "";
  if (version === LEGACY_VERSION) throw new StoredTokenError(binding, "unbound");
  if (version !== VERSION) throw new StoredTokenError(binding, "format");
  const plaintext = open(key, stored.slice(sep + 1), associatedData(binding));
  if (plaintext === null) throw new StoredTokenError(binding, "mismatch");
  return plaintext;
}

/** True when the stored value is the given token for this row; a value that cannot be read for the row is not. */
export function storedTokenIs(key: Buffer, stored: string | null, binding: TokenBinding, token: string): boolean {
  if (stored === null) return false;
  try {
    return decryptToken(key, stored, binding) === token;
  } catch (error) {
    if (error instanceof StoredTokenError) return false;
    throw error;
  }
}

/**
 * Rewrites a value stored in the unbound v1 form as a v2 value bound to its row. Null when it is not a v1 value,
 * or when it cannot be read (another key, altered): such a value is left as it is, and refused when read.
 */
export function rebindLegacyToken(key: Buffer, stored: string, binding: TokenBinding): string | null {
  if (!stored.startsWith(`${LEGACY_VERSION}:`)) return null;
  const plaintext = open(key, stored.slice(LEGACY_VERSION.length + 1), null);
  return plaintext === null ? null : encryptToken(key, plaintext, binding);
}

/** What may be shown of a token after its one full showing: its kind and last characters. */
export function tokenHint(token: string): string {
  const prefix = token.split("-").slice(0, 2).join("-");
  return `${prefix}-…${token.slice(-4)}`;
}
