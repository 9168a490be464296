import { expect, test } from "./fixtures";

test("a simulator webhook appears in the history, is filtered, opened and re-handled by ops; support cannot re-handle", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto("/webhooks");
  // The demo's traffic sends Link sessions through the simulator, whose webhooks land here.
  await expect(page.getByRole("table", { name: "Webhook deliveries" }).getByRole("row").nth(1)).toBeVisible();
  await page.getByLabel("Type").fill("LINK");
  await page.getByLabel("Code").fill("SESSION_FINISHED");
  await page.getByRole("button", { name: "Filter", exact: true }).click();
  const rows = page.getByRole("table", { name: "Webhook deliveries" }).getByRole("row");
  await expect(rows.nth(1)).toContainText("LINK/SESSION_FINISHED");
  await expect(rows.nth(1)).toContainText("verified");
  await rows.nth(1).getByRole("link").first().click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("LINK/SESSION_FINISHED");
  await expect(page.getByRole("region", { name: "Payload" })).toContainText('"link_session_id"');
  await page.getByRole("button", { name: "Re-run handler" }).click();
  await expect(page.getByRole("status")).toContainText("Handler re-run: ignored");
});

test("resetting an item's login in the sandbox brings its ITEM ERROR webhook back to the item page", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto(`/plaid/sandbox?customer=${"7c".repeat(32)}`);
  await page.getByRole("button", { name: "Mint public token" }).click();
  await page.getByRole("button", { name: "Exchange now" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");
  await page.getByRole("button", { name: "Reset login (sandbox)" }).click();
  await expect(page.getByRole("status")).toContainText("ITEM_LOGIN_REQUIRED");
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole("region", { name: "Webhooks for this item" })).toContainText("ITEM/ERROR", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await page.goto(`/customers/${"7c".repeat(32)}`);
  await expect(page.getByTestId("verdict")).toHaveAttribute("data-answer", "at-risk");
});

test("support reads webhooks but has no re-run button", async ({ signInAs }) => {
  const page = await signInAs("support");
  await page.goto("/webhooks");
  await expect(page.getByRole("button", { name: "Re-run failed handlers in this filter" })).toHaveCount(0);
});
