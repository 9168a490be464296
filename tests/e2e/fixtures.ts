import { expect, test as base, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DemoLogin } from "../../db/seed";
import type { Role } from "../../app/staff/permissions";
import { E2E_DATA_DIR } from "../../playwright.config";

export function demoLogin(role: Role): DemoLogin {
  const logins = JSON.parse(readFileSync(join(E2E_DATA_DIR, "demo-logins.json"), "utf8")) as DemoLogin[];
  return logins.find((l) => l.role === role)!;
}

export async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** A page signed in as the demo account of a role. */
export const test = base.extend<{ signInAs: (role: Role) => Promise<Page> }>({
  signInAs: async ({ page }, use) => {
    await use(async (role) => {
      const login = demoLogin(role);
      await page.goto("/login");
      await signIn(page, login.email, login.password);
      await expect(page.getByTestId("signed-in-as")).toContainText(login.name);
      return page;
    });
  },
});

export { expect };
