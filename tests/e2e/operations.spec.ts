import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { E2E_DATA_DIR } from "../../playwright.config";
import { demoLogin, expect, signIn, test } from "./fixtures";

test("an admin backs the database up from the Backups page and sees the file listed", async ({ signInAs }) => {
  const page = await signInAs("admin");
  await page.getByRole("navigation", { name: "Main" }).getByText(/^Admin/).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Backups" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Backups");
  await page.getByRole("button", { name: "Back up now" }).click();
  const status = page.getByRole("status");
  await expect(status).toContainText(/Backup linkdesk-\S+\.db written/);
  const name = /Backup (linkdesk-\S+\.db) written/.exec((await status.textContent()) ?? "")![1]!;
  const row = page.getByRole("table", { name: "Backup files" }).getByRole("row").filter({ hasText: name });
  await expect(row).toContainText(/\d+(\.\d)? (KiB|MiB)/);
  await expect(page.getByRole("table", { name: "Backup attempts" }).getByRole("row").filter({ hasText: name })).toContainText("written");
  expect(existsSync(join(E2E_DATA_DIR, "backups", name))).toBe(true);
});

test("an admin made by the create-admin command chooses a password at first sign-in, then signs in with it", async ({ page, browser }) => {
  const email = `deployer.${Date.now()}@linkdesk.test`;
  // The demo already has an admin, so the command needs --force; without it, it refuses.
  const run = (...args: string[]) => execFileSync(process.execPath, ["--import", "tsx", "server/create-admin.ts", "--email", email, "--name", "Dana Deployer", ...args], { env: { ...process.env, DATABASE_PATH: join(E2E_DATA_DIR, "linkdesk.db") }, encoding: "utf8", stdio: "pipe" });
  expect(() => run()).toThrow(/An active admin already exists/);
  const oneTime = /One-time password: (\S+)/.exec(run("--force"))![1]!;

  // The admins see who has not chosen a password yet.
  const adminContext = await browser.newContext();
  const admin = await adminContext.newPage();
  await admin.goto("/login");
  await signIn(admin, demoLogin("admin").email, demoLogin("admin").password);
  await expect(admin.getByTestId("signed-in-as")).toBeVisible();
  await admin.goto("/admin/staff");
  await expect(admin.getByRole("row").filter({ hasText: email })).toContainText("One-time password");

  await page.goto("/login");
  await signIn(page, email, oneTime);
  await expect(page).toHaveURL(/\/account\/password\?redirectTo=%2F$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Choose your password");
  await expect(page.getByRole("navigation", { name: "Main" })).toBeHidden();
  await page.goto("/admin/staff");
  await expect(page).toHaveURL(/\/account\/password\?redirectTo=%2Fadmin%2Fstaff$/);

  await page.getByLabel("One-time password").fill(oneTime);
  await page.getByLabel("New password", { exact: true }).fill("dana's own long password");
  await page.getByLabel("New password, again").fill("dana's own long passwerd");
  await page.getByRole("button", { name: "Save password" }).click();
  await expect(page.getByText("The two new passwords differ")).toBeVisible();
  await page.getByLabel("One-time password").fill(oneTime);
  await page.getByLabel("New password", { exact: true }).fill("dana's own long password");
  await page.getByLabel("New password, again").fill("dana's own long password");
  await page.getByRole("button", { name: "Save password" }).click();
  await expect(page).toHaveURL(/\/admin\/staff$/);
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();

  await page.getByTestId("signed-in-as").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.goto("/login");
  await signIn(page, email, oneTime);
  await expect(page.getByText("That email and password do not match")).toBeVisible();
  await signIn(page, email, "dana's own long password");
  await expect(page.getByTestId("signed-in-as")).toHaveText(/^Dana Deployer/);
  await admin.reload();
  await expect(admin.getByRole("row").filter({ hasText: email })).not.toContainText("One-time password");
  await adminContext.close();
});
