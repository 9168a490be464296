import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { E2E_DATA_DIR } from "../../playwright.config";
import { expect, test } from "./fixtures";

const key = () => (JSON.parse(readFileSync(join(E2E_DATA_DIR, "secrets.json"), "utf8")) as { CUSTOMER_ID_HMAC_KEY: string }).CUSTOMER_ID_HMAC_KEY;

test("support finds a customer by internal id from the global search, and by hash", async ({ signInAs }) => {
  const page = await signInAs("support");
  const rawId = "cust-e2e-4242";
  const hash = createHmac("sha256", key()).update(rawId).digest("hex");
  await page.keyboard.press("/");
  await page.keyboard.type(rawId);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(`/customers/${hash}`);
  await expect(page.getByTestId("customer-hash")).toHaveText(hash);
  expect(page.url()).not.toContain(rawId);

  await page.goto("/customers");
  await page.getByLabel("Hashed customer id or internal customer id").fill(hash.toUpperCase().slice(1));
  await page.getByRole("button", { name: "Look up" }).click();
  await expect(page.getByRole("alert")).toContainText("has 63 characters instead of 64");
  await page.getByLabel("Hashed customer id or internal customer id").fill(hash.toUpperCase());
  await page.getByRole("button", { name: "Look up" }).click();
  await expect(page.getByTestId("customer-hash")).toHaveText(hash);
  await page.goto("/customers");
  await expect(page.getByRole("link", { name: hash })).toBeVisible();
});

test("pm is refused customer pages", async ({ signInAs }) => {
  const page = await signInAs("pm");
  const response = await page.goto(`/customers/${"d".repeat(64)}`);
  expect(response?.status()).toBe(403);
});
