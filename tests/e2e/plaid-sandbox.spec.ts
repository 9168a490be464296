import { expect, test } from "./fixtures";

const CUSTOMER = "5a".repeat(32);

test("ops mints, exchanges, creates a Cardlytics processor token, sends it and sees the account on the customer's page", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto(`/customers/${CUSTOMER}`);
  await expect(page.getByTestId("verdict")).toHaveAttribute("data-answer", "no");
  await page.getByRole("link", { name: "Mint a sandbox item" }).click();
  await expect(page.getByLabel("Customer hash")).toHaveValue(CUSTOMER);
  await page.getByLabel("Test persona").selectOption("error_ITEM_LOCKED");
  await page.getByRole("button", { name: "Mint public token" }).click();
  await expect(page.getByTestId("plaid-error")).toContainText("ITEM_LOCKED");
  await page.getByLabel("Test persona").selectOption("user_good");
  await page.getByRole("button", { name: "Mint public token" }).click();
  await expect(page.getByTestId("public-token")).toHaveText(/^public-sandbox-/);
  await expect(page.getByText(/\d+:\d\d left/)).toBeVisible();
  await page.getByRole("button", { name: "Exchange now" }).click();

  await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");
  const accounts = page.getByRole("table", { name: "Item accounts" });
  await expect(accounts.getByRole("row")).toHaveCount(6);
  await accounts.getByRole("row").filter({ hasText: "Plaid Checking" }).getByRole("button", { name: "Create Cardlytics processor token" }).click();
  const token = await page.getByTestId("new-processor-token").textContent();
  expect(token).toMatch(/^processor-sandbox-/);
  await expect(page.getByRole("table", { name: "Processor tokens" })).not.toContainText(token!);
  await page.getByRole("button", { name: "Send to Cardlytics" }).click();
  await expect(page.getByRole("status")).toContainText("answers 1 linked account.");
  await page.getByRole("link", { name: "See the customer's linked accounts" }).click();

  await expect(page.getByTestId("verdict")).toHaveAttribute("data-answer", "yes");
  await expect(page.getByRole("table", { name: "Linked accounts" })).toContainText("First Platypus Bank");
  await expect(page.getByRole("table", { name: "Linked accounts" })).toContainText("0000");
});

test("support is refused the mint page and does not see sandbox tools", async ({ signInAs }) => {
  const page = await signInAs("support");
  await expect(page.getByRole("navigation", { name: "Main" })).not.toContainText("Plaid sandbox");
  const response = await page.goto("/plaid/sandbox");
  expect(response?.status()).toBe(403);
  await page.goto(`/customers/${CUSTOMER}`);
  await expect(page.getByRole("link", { name: "Mint a sandbox item" })).toHaveCount(0);
});
