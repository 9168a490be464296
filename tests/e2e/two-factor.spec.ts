import { Secret, TOTP } from "otpauth";
import type { Browser, BrowserContext, Page } from "@playwright/test";
import { auditPage } from "./a11y";
import { demoLogin, expect, signIn, test } from "./fixtures";

// Second factors in Chromium, on http://localhost (WebAuthn takes a host name, not an IP address, as the relying
// party). Each test makes its own staff account as the demo admin, so the demo logins of other specs keep working.

const ORIGIN = `http://localhost:${Number(process.env.E2E_PORT ?? 3107)}`;
const PASSWORD = "a-very-long-initial-pass";

test.use({ baseURL: ORIGIN });

async function newStaffAccount(browser: Browser, name: string): Promise<string> {
  const context = await browser.newContext({ baseURL: ORIGIN });
  const admin = await context.newPage();
  const login = demoLogin("admin");
  await admin.goto("/login");
  await signIn(admin, login.email, login.password);
  await expect(admin.getByTestId("signed-in-as")).toContainText(login.name);
  const email = `${name.toLowerCase().replace(/\s+/g, ".")}.${Date.now()}@linkdesk.test`;
  await admin.goto("/admin/staff/new");
  await admin.getByLabel("Name").fill(name);
  await admin.getByLabel("Email").fill(email);
  await admin.getByLabel("Role").selectOption("ops");
  await admin.getByLabel("Initial password").fill(PASSWORD);
  await admin.getByRole("button", { name: "Create account" }).click();
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText(name);
  await context.close();
  return email;
}

async function signOut(page: Page) {
  await page.getByTestId("signed-in-as").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
}

const codeAt = (secret: string, at: number) => new TOTP({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30 }).generate({ timestamp: at });

test("TOTP: set up with the key shown on the page, then asked for after the password", async ({ browser }) => {
  test.setTimeout(90_000);
  const email = await newStaffAccount(browser, "Totp Operator");
  const context = await browser.newContext({ baseURL: ORIGIN });
  const page = await context.newPage();
  const problems: string[] = [];
  await page.goto("/login");
  await signIn(page, email, PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText("Totp Operator");

  await page.goto("/account/security");
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(page.getByRole("img", { name: /QR code/ })).toBeVisible();
  const secret = (await page.getByTestId("totp-secret").textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  problems.push(...(await auditPage(page, "authenticator app setup")));
  await page.getByLabel("Code from the app").fill(codeAt(secret, Date.now()));
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByTestId("recovery-codes").getByRole("listitem")).toHaveCount(10);
  problems.push(...(await auditPage(page, "recovery codes shown")));
  await page.getByRole("link", { name: "I have saved them, continue" }).click();
  await signOut(page);

  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm it is you");
  problems.push(...(await auditPage(page, "second factor")));
  await page.getByLabel("Code").fill("000000" === codeAt(secret, Date.now()) ? "111111" : "000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toContainText("not right");
  // The code of the next step: the one of the setup's step may already have been used.
  await page.getByLabel("Code").fill(codeAt(secret, Date.now() + 30_000));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByTestId("signed-in-as")).toContainText("Totp Operator");
  expect(problems, problems.join("\n")).toEqual([]);
  await context.close();
});

async function withVirtualAuthenticator(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
}

test("a passkey registered in Chromium's virtual authenticator, used as the second factor and instead of the password", async ({ browser }) => {
  test.setTimeout(90_000);
  const email = await newStaffAccount(browser, "Passkey Operator");
  const context = await browser.newContext({ baseURL: ORIGIN });
  const page = await context.newPage();
  await withVirtualAuthenticator(context, page);
  await page.goto("/login");
  await signIn(page, email, PASSWORD);
  await expect(page.getByTestId("signed-in-as")).toContainText("Passkey Operator");

  await page.goto("/account/security");
  await page.getByLabel("Name of the new passkey").fill("Virtual key");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(page.getByTestId("security-outcome")).toContainText('Passkey "Virtual key" registered.');
  await expect(page.getByTestId("passkeys")).toContainText("Virtual key");
  await signOut(page);

  await signIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/verify/);
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page.getByTestId("signed-in-as")).toContainText("Passkey Operator");
  await signOut(page);

  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await expect(page.getByTestId("signed-in-as")).toContainText("Passkey Operator");
  await context.close();
});
