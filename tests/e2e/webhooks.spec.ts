import Database from "better-sqlite3";
import { join } from "node:path";
import { E2E_DATA_DIR } from "../../playwright.config";
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
  await expect(page.getByRole("status")).toContainText("Handler re-run: handled");
});

test("resetting an item's login in the sandbox brings its ITEM ERROR webhook to an open history page without a reload, and back to the item page", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto(`/plaid/sandbox?customer=${"7c".repeat(32)}`);
  await page.getByRole("button", { name: "Mint public token" }).click();
  await page.getByRole("button", { name: "Exchange now" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");
  const itemId = decodeURIComponent(new URL(page.url()).pathname.split("/").at(-1)!);
  // A second tab on the history, filtered to this item and to text with underscores, open before the webhook exists.
  const history = await page.context().newPage();
  await history.goto(`/webhooks?${new URLSearchParams({ item: itemId, q: "ITEM_LOGIN_REQUIRED" })}`);
  const rows = history.getByRole("table", { name: "Webhook deliveries" }).getByRole("row");
  await expect(rows.nth(1)).toContainText("No webhook matches these filters.");
  await page.getByRole("button", { name: "Reset login (sandbox)" }).click();
  await expect(page.getByRole("status").filter({ hasText: "ITEM_LOGIN_REQUIRED" })).toBeVisible();
  await expect(rows.nth(1)).toContainText("ITEM/ERROR", { timeout: 15_000 });
  await expect(rows.nth(1)).toContainText("verified");
  await rows.nth(1).getByRole("link").first().click();
  await expect(history.getByRole("heading", { level: 1 })).toHaveText("ITEM/ERROR");
  await expect(history.getByRole("region", { name: "Verification" }).getByRole("link", { name: "item page" })).toHaveAttribute("href", `/plaid/items/${itemId}`);
  await expect(history.getByRole("region", { name: "Verification" }).getByRole("link", { name: /^Customer 7c7c/ })).toBeVisible();
  await history.close();
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

test("ops re-runs every failed handler in a filter as a background job and watches it reach the end", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto("/webhooks?type=LINK");
  await expect(page.getByRole("table", { name: "Webhook deliveries" }).getByRole("row").nth(1)).toContainText("LINK/");
  // A handler failure cannot be provoked from the browser: mark the demo's LINK events as failed, as a broken
  // handler would have left them.
  const db = new Database(join(E2E_DATA_DIR, "linkdesk.db"));
  const failed = db.prepare("update webhook_events set handling_status = 'failed', handling_result = 'simulated failure' where webhook_type = 'LINK'").run().changes;
  db.close();
  expect(failed).toBeGreaterThan(0);
  await page.getByLabel("Handling").selectOption("failed");
  await page.getByRole("button", { name: "Filter", exact: true }).click();
  await expect(page.getByRole("table", { name: "Webhook deliveries" }).getByRole("row").nth(1)).toContainText("failed");
  await page.getByRole("button", { name: "Re-run failed handlers in this filter" }).click();
  const progress = page.getByTestId("rehandle-progress");
  await expect(progress.getByRole("progressbar", { name: "Re-run progress" })).toBeVisible();
  await expect(progress).toHaveAttribute("data-status", "finished", { timeout: 15_000 });
  await expect(progress).toContainText(`${failed} of ${failed === 1 ? "1 failed event" : `${failed} failed events`} re-run`);
  await expect(page.getByTestId("rehandle-summary")).toHaveText(`${failed} ran cleanly, 0 still failing.`);
  await expect(page).toHaveURL(/type=LINK/);
  await expect(page).toHaveURL(/status=failed/);
});
