import { describe, expect, it } from "vitest";
import { hashCustomerId } from "../../app/customers/customer-hash.server";
import { parseLookup } from "../../app/customers/customer-id";

describe("hashCustomerId", () => {
  it("is lowercase hex HMAC-SHA-256 (RFC 4231 test case 2)", () => {
    expect(hashCustomerId("what do ya want for nothing?", "Jefe")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });
});

describe("parseLookup", () => {
  const hash = "4C1A31FD8709E39C5226A61A45D29754B4076FF868ACF4F7CAFDD275B8AB2789";
  it("reads 64 hex characters as a hash, in any case, normalised to lowercase", () => {
    expect(parseLookup(`  ${hash} `)).toEqual({ ok: true, kind: "hash", hash: hash.toLowerCase() });
  });
  it("reads anything else printable as an internal id, trimmed but case-preserved", () => {
    expect(parseLookup("  Cust-00042 ")).toEqual({ ok: true, kind: "raw", rawId: "Cust-00042" });
  });
  it("lets the agent override detection", () => {
    expect(parseLookup(hash, "raw")).toEqual({ ok: true, kind: "raw", rawId: hash });
    expect(parseLookup("cust-1", "hash")).toMatchObject({ ok: false, message: expect.stringContaining("0-9 and a-f") });
  });
  it.each([
    ["63 hex characters", hash.slice(1), "has 63 characters instead of 64"],
    ["65 hex characters", `${hash}a`, "has 65 characters instead of 64"],
    ["unicode", "clïent-42", "printable ASCII"],
    ["spaces inside", "cust 42", "printable ASCII"],
    ["10 KB", "a".repeat(10_240), "far too long"],
    ["nothing", "   ", "Type a hashed customer id"],
  ])("refuses %s with a clear message", (_case, input, message) => {
    const result = parseLookup(input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toContain(message);
  });
});
