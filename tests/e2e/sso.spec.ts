import type { Page } from "@playwright/test";
import { auditPage } from "./a11y";
import { expect, test } from "./fixtures";

// Single sign-on in Chromium through the local identity provider the demo starts: its own sign-in page, its
// redirect back, and the role its groups map to.

async function signInWithSso(page: Page, username: string, password: string) {
  await page.getByRole("button", { name: "Sign in with SSO" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Demo identity provider");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

test("an ops identity signs in through the identity provider, lands where it was going and gets the ops role", async ({ page }) => {
  const response = await page.goto("/jobs");
  expect(response?.status()).toBe(401);
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Fjobs/);
  // The button's form ends in a redirect to the provider, which the page's form-action allows (and nothing else).
  const login = await page.request.get("/login");
  expect(login.headers()["content-security-policy"]).toMatch(/form-action 'self' http:\/\/127\.0\.0\.1:\d+;/);
  await signInWithSso(page, "otto", "otto-sso-pass");
  await expect(page).toHaveURL(/\/jobs$/);
  await expect(page.getByTestId("signed-in-as")).toContainText("Otto Ops");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link")).toHaveText(["Home", "Customers", "Expiring links", "Webhooks", "Plaid Check", "Plaid sandbox", "Jobs"]);
});

test("a product identity gets pm", async ({ page }) => {
  await page.goto("/login");
  await signInWithSso(page, "pia", "pia-sso-pass");
  await expect(page.getByTestId("signed-in-as")).toContainText("Pia Product");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link")).toHaveText(["Home", "Funnel"]);
});

test("someone in the support and ops groups gets the more privileged role, ops", async ({ page }) => {
  await page.goto("/login");
  await signInWithSso(page, "max", "max-sso-pass");
  await expect(page.getByTestId("signed-in-as")).toContainText("Max Multi");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" })).toBeVisible();
});

test("an identity in no mapped group is refused with a page that says which group to ask for", async ({ page }) => {
  await page.goto("/login");
  await signInWithSso(page, "nora", "nora-sso-pass");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Your account has no Linkdesk role");
  await expect(page.getByTestId("sso-refusal")).toHaveAttribute("data-status", "403");
  await expect(page.getByRole("alert")).toContainText("linkdesk-support");
  const problems = await auditPage(page, "single sign-on refused");
  expect(problems, problems.join("\n")).toEqual([]);
  await page.getByRole("link", { name: "Back to sign in" }).click();
  await expect(page).toHaveURL(/\/login$/);
});

test("a wrong password at the identity provider stays there with its own message", async ({ page }) => {
  await page.goto("/login");
  await signInWithSso(page, "sam", "not-the-password");
  await expect(page.getByRole("alert")).toHaveText("That username and password do not match a demo identity.");
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("The identity provider did not sign you in");
});
