import { execFile, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, startConsoleProcess } from "../support/console-process";
import { cookieHeader, form, testEnv } from "../support/context";

const run = promisify(execFile);

/** The documented command, as a deployer runs it: its own process, against the database file. */
async function createAdmin(databasePath: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "server/create-admin.ts", ...args], { env: { ...process.env, DATABASE_PATH: databasePath } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const passwordIn = (stdout: string) => /One-time password: (\S+)/.exec(stdout)?.[1];

let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill("SIGTERM");
});

describe("the first admin of a deployment", () => {
  it("a fresh production start has no account; the command creates an admin whose one-time password must be changed at first sign-in", async () => {
    const databasePath = join(mkdtempSync(join(tmpdir(), "linkdesk-first-admin-")), "linkdesk.db");
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    child = await startConsoleProcess(testEnv({ DATABASE_PATH: databasePath, PORT: String(port), NODE_ENV: "development", LINKDESK_DEV: "1", PLAID_BASE_URL: "http://127.0.0.1:9", CARDLYTICS_BASE_URL: "http://127.0.0.1:9" }));
    const db = new Database(databasePath, { readonly: true });
    const staff = () => db.prepare("select email, role, must_change_password as mustChange from staff_users order by id").all();
    const audit = (action: string) => db.prepare("select staff_email as actor, client_address as address, target_id as target, details from audit_log where action = ? order by id").all(action) as { actor: string | null; address: string; target: string; details: string }[];
    expect(staff()).toEqual([]);

    // Created while the console runs, as a deployer does after the first start.
    const created = await createAdmin(databasePath, "--email", "First.Admin@Example.test", "--name", "First Admin");
    expect(created.code).toBe(0);
    const oneTime = passwordIn(created.stdout)!;
    expect(oneTime).toMatch(/^[\w-]{24}$/);
    expect(staff()).toEqual([{ email: "first.admin@example.test", role: "admin", mustChange: 1 }]);
    expect(audit("staff.create")).toMatchObject([{ actor: null, address: expect.stringMatching(/^command line: /), target: "1" }]);
    expect(JSON.parse(audit("staff.create")[0]!.details)).toMatchObject({ email: "first.admin@example.test", role: "admin", via: "create-admin command", force: false });

    // Run twice, it refuses and changes nothing.
    const again = await createAdmin(databasePath, "--email", "second@example.test");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/An active admin already exists \(first\.admin@example\.test\); nothing was changed.*--force/);
    expect(again.stdout).not.toMatch(/One-time password/);
    expect(staff()).toHaveLength(1);

    // Signing in with the one-time password leads to the password change, and nowhere else.
    const signIn = (password: string) => fetch(`${origin}/login`, { method: "POST", redirect: "manual", headers: { Origin: origin }, body: form({ email: "first.admin@example.test", password }) });
    const first = await signIn(oneTime);
    expect(first.status).toBe(302);
    const cookie = cookieHeader(first.headers.get("set-cookie")!);
    const get = (path: string) => fetch(`${origin}${path}`, { redirect: "manual", headers: { Cookie: cookie } });
    for (const path of ["/", "/admin/staff", "/customers?q=x"]) {
      const res = await get(path);
      expect(res.status, path).toBe(302);
      expect(res.headers.get("location"), path).toBe(`/account/password?${new URLSearchParams({ redirectTo: path })}`);
    }
    const refusedPost = await fetch(`${origin}/admin/staff/new`, { method: "POST", redirect: "manual", headers: { Cookie: cookie, Origin: origin }, body: form({ email: "x@example.test", name: "X", role: "admin", password: "a long enough password" }) });
    expect(refusedPost.status).toBe(403);
    const changePage = await get("/account/password?redirectTo=%2Fadmin%2Fstaff");
    expect(changePage.status).toBe(200);
    expect(await changePage.text()).toContain("with a one-time password");

    const change = (values: Record<string, string>) => fetch(`${origin}/account/password?redirectTo=%2Fadmin%2Fstaff`, { method: "POST", redirect: "manual", headers: { Cookie: cookie, Origin: origin }, body: form(values) });
    const wrong = await change({ currentPassword: "not it", newPassword: "my own long password", confirmPassword: "my own long password" });
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("That is not your current password");
    const same = await change({ currentPassword: oneTime, newPassword: oneTime, confirmPassword: oneTime });
    expect(same.status).toBe(400);
    const changed = await change({ currentPassword: oneTime, newPassword: "my own long password", confirmPassword: "my own long password" });
    expect(changed.status).toBe(302);
    expect(changed.headers.get("location")).toBe("/admin/staff");
    // An administrator must have a second factor (the policy's default): the console sends them to set one up next.
    const admin = await get("/admin/staff");
    expect(admin.status).toBe(302);
    expect(admin.headers.get("location")).toBe("/account/security?redirectTo=%2Fadmin%2Fstaff");
    expect(staff()).toEqual([{ email: "first.admin@example.test", role: "admin", mustChange: 0 }]);
    expect(audit("staff.password_change")).toMatchObject([{ actor: "first.admin@example.test" }]);
    expect(JSON.parse(audit("staff.password_change")[0]!.details)).toMatchObject({ oneTimePasswordReplaced: true });

    // The one-time password no longer opens anything; the chosen one does.
    expect((await signIn(oneTime)).status).toBe(401);
    expect((await signIn("my own long password")).status).toBe(302);

    // Forced, on the existing email: a new one-time password, the account's sessions ended, audited as a restore.
    const forced = await createAdmin(databasePath, "--email", "first.admin@example.test", "--force");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^Restored admin first\.admin@example\.test/);
    expect((await get("/admin/staff")).status).toBe(401);
    expect(staff()).toEqual([{ email: "first.admin@example.test", role: "admin", mustChange: 1 }]);
    expect(JSON.parse(audit("staff.admin_restored")[0]!.details)).toMatchObject({ force: true, previousRole: "admin", sessionsEnded: 2 });
    expect((await signIn(passwordIn(forced.stdout)!)).status).toBe(302);
    db.close();
  }, 120_000);

  it("refuses bad arguments with a message and no account", async () => {
    const databasePath = join(mkdtempSync(join(tmpdir(), "linkdesk-first-admin-args-")), "linkdesk.db");
    const missing = await createAdmin(databasePath);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain("--email is required");
    const bad = await createAdmin(databasePath, "--email", "not-an-email");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--email: Enter a valid email address");
    const unknown = await createAdmin(databasePath, "--email", "a@example.test", "--role", "support");
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/Unknown option '--role'/);
    const db = new Database(databasePath, { readonly: true });
    expect(db.prepare("select count(*) as n from staff_users").get()).toEqual({ n: 0 });
    db.close();
  }, 60_000);
});
