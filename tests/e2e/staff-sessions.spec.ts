import { demoLogin, expect, signIn, test } from "./fixtures";

const FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0";

test("a staff member ends their session on another browser from Your sessions; that browser is told at sign-in", async ({ signInAs, browser }) => {
  const login = demoLogin("support");
  const otherContext = await browser.newContext({ userAgent: FIREFOX_MAC });
  const other = await otherContext.newPage();
  await other.goto("/login");
  await signIn(other, login.email, login.password);
  await expect(other.getByTestId("signed-in-as")).toContainText(login.name);

  const page = await signInAs("support");
  await page.getByTestId("signed-in-as").click();
  await page.getByRole("link", { name: "Your sessions" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your sessions");
  const sessions = page.getByRole("table", { name: "Your active sessions" });
  await expect(page.getByTestId("current-session")).toContainText("This session");
  await expect(page.getByTestId("current-session")).toContainText("Chrome on Linux");
  const firefox = sessions.getByRole("row").filter({ hasText: "Firefox on macOS" });
  await expect(firefox).toHaveCount(1);
  await expect(firefox).toContainText("Password");
  await firefox.getByRole("button", { name: "End session" }).click();
  await expect(page.getByRole("status").filter({ hasText: "1 session ended" })).toBeVisible();
  await expect(sessions.getByRole("row").filter({ hasText: "Firefox on macOS" })).toHaveCount(0);

  await other.goto("/customers");
  await expect(other).toHaveURL(/\/login\?redirectTo=%2Fcustomers/);
  await expect(other.getByTestId("session-ended")).toHaveText(/ended from another of your sessions/);
  // This browser is still signed in.
  await page.goto("/customers");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Find a customer");
  await otherContext.close();
});

test("an administrator ends every session of a staff member; their browser is told so at sign-in", async ({ signInAs, browser }) => {
  const ops = demoLogin("ops");
  const opsContext = await browser.newContext();
  const opsPage = await opsContext.newPage();
  await opsPage.goto("/login");
  await signIn(opsPage, ops.email, ops.password);
  await expect(opsPage.getByTestId("signed-in-as")).toContainText(ops.name);

  const admin = await signInAs("admin");
  await admin.goto("/admin/staff");
  await admin.getByRole("table", { name: "Staff accounts" }).getByRole("row").filter({ hasText: ops.email }).getByRole("link").first().click();
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText(ops.name);
  await expect(admin.getByTestId("active-sessions")).not.toHaveText("Signed in now: 0 sessions");
  await admin.getByRole("button", { name: "End all sessions" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Every session of this account has been ended" })).toBeVisible();
  await expect(admin.getByTestId("active-sessions")).toHaveText("Signed in now: 0 sessions");

  await opsPage.goto("/jobs");
  await expect(opsPage).toHaveURL(/\/login\?redirectTo=%2Fjobs/);
  await expect(opsPage.getByTestId("session-ended")).toHaveText(/An administrator ended every session of this account/);
  await opsContext.close();
});
