// What staff may type into the customer search, and how it becomes the x-source-customer-id Cardlytics knows.

export const NORMALISATION_RULE =
  "A raw internal id is trimmed of surrounding spaces and otherwise used exactly as typed (case matters), then hashed: lowercase hex HMAC-SHA-256 under the publisher's key.";

const HEX = /^[0-9a-fA-F]+$/;
const RAW_ID = /^[\x21-\x7e]{1,128}$/; // printable ASCII without spaces: what internal ids are made of

export type LookupMode = "auto" | "hash" | "raw";

export type ParsedLookup =
  | { ok: true; kind: "hash"; hash: string }
  | { ok: true; kind: "raw"; rawId: string }
  | { ok: false; message: string };

/** Decides whether the input is a hashed id or a raw internal id, without keeping or echoing the raw value. */
export function parseLookup(input: string, mode: LookupMode = "auto"): ParsedLookup {
  if (input.length > 1024) return { ok: false, message: "That is far too long to be a customer id (1,024 characters at most)." };
  const value = input.trim();
  if (!value) return { ok: false, message: "Type a hashed customer id (64 hex characters) or an internal customer id." };
  const isHex = HEX.test(value);
  if (mode === "hash" || (mode === "auto" && isHex && value.length === 64)) {
    if (!isHex) return { ok: false, message: "A hashed customer id contains only the characters 0-9 and a-f." };
    if (value.length !== 64) {
      return { ok: false, message: `A hashed customer id is exactly 64 hex characters; this has ${value.length}.` };
    }
    return { ok: true, kind: "hash", hash: value.toLowerCase() };
  }
  if (mode === "auto" && isHex && value.length >= 56 && value.length <= 72) {
    return {
      ok: false,
      message: `This looks like a hashed id but has ${value.length} characters instead of 64. Check for a missing or extra character, or search it as an internal id.`,
    };
  }
  if (!RAW_ID.test(value)) {
    return {
      ok: false,
      message: "An internal customer id is 1 to 128 printable ASCII characters, without spaces or accents.",
    };
  }
  return { ok: true, kind: "raw", rawId: value };
}

export function isCustomerHash(value: string): boolean {
  return value.length === 64 && /^[0-9a-f]+$/.test(value);
}
