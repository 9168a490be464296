import { eq } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import * as auditCsv from "../../app/routes/admin.audit[.]csv";
import * as auditPage from "../../app/routes/admin.audit";
import * as staffMember from "../../app/routes/admin.staff.$id";
import * as newStaff from "../../app/routes/admin.staff.new";
import * as login from "../../app/routes/login";
import { recordAudit } from "../../app/staff/audit.server";
import { auditLog, staffSessions, staffUsers } from "../../db/schema";
import { createHarness, form, statusOf, type Harness } from "../support/context";

let h: Harness;
beforeEach(async () => {
  h = await createHarness();
});

async function post(mod: { action: (a: never) => unknown }, path: string, values: Record<string, string>, params = {}) {
  const request = await h.request(path, { method: "POST", role: "admin", body: form(values) });
  return statusOf(() => mod.action({ request, context: h.context("203.0.113.5"), params } as never));
}

const memberPath = (id: number) => [`/admin/staff/${id}`, { id: String(id) }] as const;

describe("staff administration", () => {
  it("creates an account that can then sign in, and audits who did it from where", async () => {
    expect(await post(newStaff, "/admin/staff/new", { name: "Nia New", email: " Nia@Example.TEST ", role: "support", password: "a long enough password" })).toBe(302);
    const created = h.db.select().from(staffUsers).where(eq(staffUsers.email, "nia@example.test")).get()!;
    expect(created).toMatchObject({ name: "Nia New", role: "support" });
    expect(created.passwordHash).toMatch(/^scrypt\$/);
    const entry = h.db.select().from(auditLog).where(eq(auditLog.action, "staff.create")).get()!;
    expect(entry).toMatchObject({ staffUserId: h.users.admin.id, role: "admin", targetType: "staff", targetId: String(created.id), clientAddress: "203.0.113.5" });
    expect(entry.details).toEqual({ email: "nia@example.test", role: "support" });
    const signIn = (await login.action({
      request: await h.request("/login", { method: "POST", body: form({ email: "nia@example.test", password: "a long enough password" }) }),
      context: h.context(),
      params: {},
    })) as Response;
    expect(signIn.status).toBe(302);
  });

  it("creates an SSO-only account that no password opens, and says so on its page", async () => {
    expect(await post(newStaff, "/admin/staff/new", { signIn: "sso", name: "Sol Sso", email: "sol@example.test", role: "support", password: "ignored for sso" })).toBe(302);
    const created = h.db.select().from(staffUsers).where(eq(staffUsers.email, "sol@example.test")).get()!;
    expect(created.passwordHash).toBe("");
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.create")).get()!.details).toEqual({ email: "sol@example.test", role: "support", signIn: "sso" });
    for (const password of ["ignored for sso", "a long enough password"]) {
      const signIn = (await login.action({ request: await h.request("/login", { method: "POST", body: form({ email: "sol@example.test", password }) }), context: h.context(), params: {} })) as { init: { status: number } };
      expect(signIn.init.status).toBe(401);
    }
    const page = (await staffMember.loader({ request: await h.request(`/admin/staff/${created.id}`, { role: "admin" }), context: h.context(), params: { id: String(created.id) } } as never)) as { member: { signsInWith: string } };
    expect(page.member.signsInWith).toBe("SSO (links at first sign-in)");
    const admin = (await staffMember.loader({ request: await h.request(`/admin/staff/${h.users.admin.id}`, { role: "admin" }), context: h.context(), params: { id: String(h.users.admin.id) } } as never)) as { member: { signsInWith: string } };
    expect(admin.member.signsInWith).toBe("a password");
    expect(await post(newStaff, "/admin/staff/new", { signIn: "magic", name: "M", email: "m@example.test", role: "support" })).toBe(400);
  });

  it("refuses a duplicate email, a short password, an unknown role, and changes nothing", async () => {
    const before = h.db.select().from(staffUsers).all().length;
    expect(await post(newStaff, "/admin/staff/new", { name: "Dup", email: h.users.ops.email, role: "ops", password: "a long enough password" })).toBe(409);
    expect(await post(newStaff, "/admin/staff/new", { name: "Short", email: "s@example.test", role: "ops", password: "short" })).toBe(400);
    expect(await post(newStaff, "/admin/staff/new", { name: "Root", email: "r@example.test", role: "root", password: "a long enough password" })).toBe(400);
    expect(h.db.select().from(staffUsers).all().length).toBe(before);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "staff.create")).all()).toHaveLength(0);
  });

  it("disables (ending sessions), re-enables, changes role and resets the password, auditing each", async () => {
    const [path, params] = memberPath(h.users.ops.id);
    await h.cookieFor("ops");
    expect(h.db.select().from(staffSessions).where(eq(staffSessions.staffUserId, h.users.ops.id)).all()).toHaveLength(1);
    expect(await post(staffMember, path, { intent: "disable" }, params)).toBe(200);
    expect(h.db.select().from(staffSessions).where(eq(staffSessions.staffUserId, h.users.ops.id)).all()).toHaveLength(0);
    expect(await post(staffMember, path, { intent: "enable" }, params)).toBe(200);
    expect(await post(staffMember, path, { intent: "role", role: "pm" }, params)).toBe(200);
    await h.cookieFor("ops");
    expect(await post(staffMember, path, { intent: "password", password: "another long password" }, params)).toBe(200);
    expect(h.db.select().from(staffSessions).where(eq(staffSessions.staffUserId, h.users.ops.id)).all()).toHaveLength(0);
    const user = h.db.select().from(staffUsers).where(eq(staffUsers.id, h.users.ops.id)).get()!;
    expect(user.role).toBe("pm");
    expect(user.disabledAt).toBeNull();
    const actions = h.db.select({ action: auditLog.action, details: auditLog.details }).from(auditLog).where(eq(auditLog.targetId, String(h.users.ops.id))).all();
    expect(actions.map((a) => a.action)).toEqual(["staff.disable", "staff.enable", "staff.role_change", "staff.password_reset"]);
    expect(JSON.stringify(actions)).not.toContain("another long password");
  });

  it("protects the last active admin and the admin's own account", async () => {
    const [path, params] = memberPath(h.users.admin.id);
    expect(await post(staffMember, path, { intent: "disable" }, params)).toBe(409);
    expect(await post(staffMember, path, { intent: "role", role: "support" }, params)).toBe(409);
    expect(h.db.select().from(staffUsers).where(eq(staffUsers.id, h.users.admin.id)).get()!.role).toBe("admin");
  });

  it("answers 404 for a staff id that does not exist or is not a number", async () => {
    expect(await post(staffMember, "/admin/staff/999", { intent: "enable" }, { id: "999" })).toBe(404);
    expect(await post(staffMember, "/admin/staff/abc", { intent: "enable" }, { id: "abc" })).toBe(404);
  });
});

describe("audit log", () => {
  function seedAudit(n: number) {
    const base = h.clock.now().getTime();
    for (let i = 0; i < n; i++) {
      recordAudit(h.db, {
        actor: i % 2 ? { id: h.users.support.id, email: h.users.support.email, role: "support" } : { id: h.users.ops.id, email: h.users.ops.email, role: "ops" },
        action: i % 3 ? "customer.view" : "sandbox.mint",
        customerHash: i % 5 === 0 ? "a".repeat(64) : "b".repeat(64),
        clientAddress: "127.0.0.1",
        details: { n: i, note: i === 0 ? "=HYPERLINK(\"x\")" : "plain" },
        at: new Date(base - (n - i) * 3600_000),
      });
    }
  }

  async function page(query: string) {
    return auditPage.loader({ request: await h.request(`/admin/audit${query}`, { role: "admin" }), context: h.context(), params: {} });
  }

  it("pages through a large log with keyset links, every entry once, newest first", async () => {
    seedAudit(130);
    const seen: number[] = [];
    let query = "?action=customer.view";
    for (;;) {
      const result = await page(query);
      seen.push(...result.entries.map((e) => e.id));
      if (!result.nextPage) break;
      expect(result.nextPage).toContain("action=customer.view");
      query = result.nextPage;
    }
    const expected = h.db.select({ id: auditLog.id }).from(auditLog).where(eq(auditLog.action, "customer.view")).all().map((r) => r.id).sort((a, b) => b - a);
    expect(seen).toEqual(expected);
    expect(seen.length).toBeGreaterThan(50);
  });

  it("filters by staff, action family, customer hash and dates; reports a bad filter instead of failing", async () => {
    seedAudit(48);
    const bySupport = await page(`?staff=${h.users.support.id}&customer=${"A".repeat(64)}`);
    expect(bySupport.entries.length).toBeGreaterThan(0);
    expect(bySupport.entries.every((e) => e.staffUserId === h.users.support.id && e.customerHash === "a".repeat(64))).toBe(true);
    const family = await page("?action=sandbox.*");
    expect(family.entries.every((e) => e.action === "sandbox.mint")).toBe(true);
    expect(family.entries).toHaveLength(16);
    const day = new Date(h.clock.now().getTime() - 3600_000).toISOString().slice(0, 10);
    const oneDay = await page(`?from=${day}&to=${day}`);
    expect(oneDay.entries.length).toBeGreaterThan(0);
    expect(oneDay.entries.every((e) => new Date(e.at).toISOString().startsWith(day))).toBe(true);
    const bad = await page("?customer=xyz&from=2026-13-45");
    expect(bad.errors).toMatchObject({ customer: expect.stringContaining("64 hex"), from: expect.any(String) });
    expect(bad.entries).toHaveLength(48);
  });

  it("exports the filtered list as CSV and audits the export", async () => {
    seedAudit(10);
    const res = (await auditCsv.loader({
      request: await h.request(`/admin/audit.csv?customer=${"a".repeat(64)}`, { role: "admin" }),
      context: h.context(),
      params: {},
    })) as Response;
    expect(res.headers.get("Content-Type")).toContain("text/csv");
    const lines = (await res.text()).trim().split("\r\n");
    expect(lines[0]).toBe("id,at_utc,staff_email,role,action,target_type,target_id,customer_hash,client_address,details");
    expect(lines).toHaveLength(1 + 2);
    expect(lines.every((l, i) => i === 0 || l.includes("a".repeat(64)))).toBe(true);
    expect(h.db.select().from(auditLog).where(eq(auditLog.action, "audit.export")).all()).toHaveLength(1);
  });

  it("refuses to export with an invalid filter", async () => {
    expect(
      await statusOf(async () =>
        auditCsv.loader({ request: await h.request("/admin/audit.csv?from=yesterday", { role: "admin" }), context: h.context(), params: {} }),
      ),
    ).toBe(400);
  });
});
