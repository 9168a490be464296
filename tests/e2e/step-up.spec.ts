import Database from "better-sqlite3";
import { join } from "node:path";
import { E2E_DATA_DIR } from "../../playwright.config";
import { axeProblems } from "./a11y";
import { demoLogin, expect, test } from "./fixtures";

// Ages the proof of identity of every session of an account, as if it had signed in this long ago.
function ageProofs(email: string, minutes: number) {
  const db = new Database(join(E2E_DATA_DIR, "linkdesk.db"));
  try {
    db.prepare("update staff_sessions set verified_at = verified_at - @ms where staff_user_id = (select id from staff_users where email = @email)").run({ ms: minutes * 60_000, email });
  } finally {
    db.close();
  }
}

test("a staff change asks an admin whose sign-in is older than ten minutes to confirm it's them, then makes the change", async ({ signInAs }) => {
  const page = await signInAs("admin");
  const admin = demoLogin("admin");
  ageProofs(admin.email, 11);
  const email = `stepped.up.${Date.now()}@linkdesk.test`;
  await page.goto("/admin/staff/new");
  await page.getByLabel("Name").fill("Sam Stepped");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Role").selectOption("support");
  await page.getByLabel("Initial password").fill("a long enough password");
  await page.getByRole("button", { name: /Create account/ }).click();

  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm it's you");
  await expect(page.getByText("Create a staff account", { exact: true })).toBeVisible();
  expect(await axeProblems(page, "step-up prompt")).toEqual([]);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByRole("alert")).toContainText("That is not your password.");
  expect(await axeProblems(page, "step-up refused")).toEqual([]);
  await page.getByLabel("Password").fill(admin.password);
  await page.getByRole("button", { name: "Confirm" }).click();

  // The form waiting for the proof goes on by itself: the account is made and its page opens.
  await expect(page).toHaveURL(/\/admin\/staff\/\d+$/);
  await expect(page.getByText("Account created.")).toBeVisible();
  await expect(page.getByText(email).first()).toBeVisible();

  await page.goto(`/admin/audit?action=staff.step_up`);
  await expect(page.getByRole("table").getByRole("row").filter({ hasText: "Create a staff account" }).first()).toBeVisible();
});
