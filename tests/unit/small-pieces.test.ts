import { describe, expect, it } from "vitest";
import { csvCell, csvRow } from "../../app/lib/csv";
import { safeRedirectPath } from "../../app/staff/auth.server";
import { hashPassword, verifyPassword } from "../../app/staff/password.server";
import { can, PERMISSIONS, ROLES } from "../../app/staff/permissions";
import { formatExact, formatRelative } from "../../app/ui/time";
import { freshDb } from "../support/db";
import { roles } from "../../db/schema";

describe("permissions", () => {
  it("matches the roles the migration puts in the database", () => {
    const db = freshDb();
    expect(db.select({ name: roles.name }).from(roles).all().map((r) => r.name).sort()).toEqual([...ROLES].sort());
  });

  it("gives each role what the product promises", () => {
    const allowedTo = (role: (typeof ROLES)[number]) => Object.keys(PERMISSIONS).filter((p) => can(role, p as keyof typeof PERMISSIONS)).sort();
    expect(allowedTo("support")).toEqual(["view:console", "view:customer"]);
    expect(allowedTo("ops")).toEqual(
      ["create:processor-token", "manage:cra-user", "manage:plaid-item", "mint:sandbox-token", "recheck:account-links", "regenerate:report", "rehandle:webhook", "view:console", "view:customer", "view:jobs"].sort(),
    );
    expect(allowedTo("pm")).toEqual(["view:console", "view:funnel"]);
    expect(allowedTo("admin")).toEqual(Object.keys(PERMISSIONS).sort());
  });
});

describe("database handle", () => {
  it("syncs the write-ahead log at every commit, so an acknowledged write survives a power loss", () => {
    const db = freshDb();
    // 2 is FULL; NORMAL (1) would leave the last commits to the operating system's cache.
    expect(db.$client.pragma("synchronous", { simple: true })).toBe(2);
    expect(db.$client.pragma("journal_mode", { simple: true })).toBe("wal");
  });
});

describe("safeRedirectPath", () => {
  it.each([
    ["/customers/abc?x=1#t", "/customers/abc?x=1#t"],
    ["//evil.example", "/"],
    ["/\\evil.example", "/"],
    ["https://evil.example/a", "/"],
    ["/%2F%2Fevil.example", "/%2F%2Fevil.example"],
    ["/\tjavascript:alert(1)", "/"],
    [undefined, "/"],
    ["relative/path", "/"],
  ])("%s → %s", (input, expected) => {
    expect(safeRedirectPath(input)).toBe(expected);
  });
});

describe("passwords", () => {
  it("hashes with scrypt and a random salt, and verifies only the right password", async () => {
    const a = await hashPassword("correct horse battery staple");
    const b = await hashPassword("correct horse battery staple");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery staple", a)).toBe(true);
    expect(await verifyPassword("correct horse battery stapler", a)).toBe(false);
    expect(await verifyPassword("anything", "not-a-hash")).toBe(false);
  });
});

describe("csv", () => {
  it("quotes separators and neutralises spreadsheet formulas", () => {
    expect(csvCell('say "hi", then\nleave')).toBe('"say ""hi"", then\nleave"');
    expect(csvCell("=HYPERLINK(\"http://x\")")).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell("+1")).toBe("'+1");
    expect(csvCell(null)).toBe("");
    expect(csvCell(new Date("2026-01-02T03:04:05Z"))).toBe("2026-01-02T03:04:05.000Z");
    expect(csvRow([1, "a", { k: 1 }])).toBe('1,a,"{""k"":1}"\r\n');
  });
});

describe("times", () => {
  const now = new Date("2026-11-22T12:00:00Z");
  it.each([
    [new Date("2026-11-25T12:00:00Z"), "in 3 days"],
    [new Date("2026-09-22T12:00:00Z"), "2 months ago"],
    [new Date("2026-11-22T11:59:30Z"), "30 seconds ago"],
    [new Date("2026-11-22T13:00:00Z"), "in 1 hour"],
  ])("%s is %s", (date, text) => {
    expect(formatRelative(date, now)).toBe(text);
  });
  it("prints exact times in UTC", () => {
    expect(formatExact(new Date("2026-11-22T12:00:05.123Z"))).toBe("2026-11-22 12:00:05 UTC");
  });
});
