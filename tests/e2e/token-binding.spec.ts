import Database from "better-sqlite3";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { E2E_DATA_DIR } from "../../playwright.config";
import { expect, test } from "./fixtures";

const ALICE = "a7".repeat(32);
const BOB = "b8".repeat(32);

async function linkSandboxItem(page: Page, customer: string): Promise<string> {
  await page.goto(`/plaid/sandbox?customer=${customer}`);
  await expect(page.getByLabel("Customer hash")).toHaveValue(customer);
  await page.getByLabel("Test persona").selectOption("user_good");
  await page.getByRole("button", { name: "Mint public token" }).click();
  await expect(page.getByTestId("public-token")).toHaveText(/^public-sandbox-/);
  await page.getByRole("button", { name: "Exchange now" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");
  return decodeURIComponent(new URL(page.url()).pathname.split("/plaid/items/")[1]!);
}

test("an access token copied from another customer's item is refused on the item's page and its actions, with the reason", async ({ signInAs }) => {
  const page = await signInAs("ops");
  const alice = await linkSandboxItem(page, ALICE);
  const bob = await linkSandboxItem(page, BOB);
  // A swap cannot be made from the browser: copy Bob's stored ciphertext into Alice's row, as a bad restore would.
  const db = new Database(join(E2E_DATA_DIR, "linkdesk.db"));
  const copied = db.prepare("update plaid_items set access_token_enc = (select access_token_enc from plaid_items where item_id = @bob) where item_id = @alice").run({ alice, bob }).changes;
  db.close();
  expect(copied).toBe(1);

  await page.goto(`/plaid/items/${encodeURIComponent(alice)}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");
  await expect(page.getByTestId("plaid-error")).toContainText("STORED_TOKEN_REFUSED");
  await expect(page.getByTestId("plaid-error")).toContainText("does not belong to this row");
  await page.getByLabel("Webhook URL").fill("https://attacker.example/hook");
  await page.getByRole("button", { name: "Update webhook URL" }).click();
  // The action's own answer, beside the panel that the page shows on load.
  await expect(page.getByRole("alert").filter({ hasNotText: "STORED_TOKEN_REFUSED" }).filter({ hasText: "Nothing was sent to the vendor" })).toBeVisible();

  // Alice's customer page shows the refusal where Plaid's live answer would be; Bob's item still reads.
  await page.goto(`/customers/${ALICE}`);
  await expect(page.getByTestId("plaid-error").filter({ hasText: "STORED_TOKEN_REFUSED" })).toBeVisible();
  await page.goto(`/plaid/items/${encodeURIComponent(bob)}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");
  await expect(page.getByTestId("plaid-error")).toHaveCount(0);
});
