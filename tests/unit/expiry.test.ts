import { describe, expect, it } from "vitest";
import { classifyAccount } from "../../app/cardlytics/expiry";

const now = Date.parse("2026-11-22T12:00:00Z");
const DAY = 86_400_000;

describe("classifyAccount", () => {
  it.each([
    ["OPEN", now + 30 * DAY, "active"],
    ["OPEN", now + 14 * DAY + 1, "active"],
    ["OPEN", now + 14 * DAY, "expiring"],
    ["OPEN", now + 1, "expiring"],
    ["OPEN", now, "expired"],
    ["OPEN", now - 60 * DAY, "expired"],
    ["OPEN", null, "active"],
    ["CLOSED", now + 30 * DAY, "not-open"],
    ["FRAUD", now - DAY, "not-open"],
    ["open", now + 30 * DAY, "not-open"],
  ] as const)("%s expiring at %s is %s", (status, expirationDate, state) => {
    expect(classifyAccount({ status, expirationDate }, now)).toBe(state);
  });

  it("uses the configured window", () => {
    expect(classifyAccount({ status: "OPEN", expirationDate: now + 20 * DAY }, now, 30)).toBe("expiring");
    expect(classifyAccount({ status: "OPEN", expirationDate: now + 20 * DAY }, now, 7)).toBe("active");
  });
});
