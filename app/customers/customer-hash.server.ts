import { createHmac } from "node:crypto";

/** x-source-customer-id: lowercase hex HMAC-SHA-256 of the raw internal id under the publisher's key. */
export function hashCustomerId(rawId: string, key: string): string {
  return createHmac("sha256", key).update(rawId, "utf8").digest("hex");
}
