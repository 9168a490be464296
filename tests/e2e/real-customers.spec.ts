import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CustomerOutcome } from "../../simulators/traffic";
import { E2E_DATA_DIR } from "../../playwright.config";
import { expect, test } from "./fixtures";

const trafficFile = join(E2E_DATA_DIR, "demo-traffic.json");

/** A customer the demo's traffic played through Link, Plaid, Cardlytics and Plaid Check, as a publisher's app would. */
async function trafficCustomer(): Promise<CustomerOutcome & { itemId: string; linkSessionId: string }> {
  await expect.poll(() => existsSync(trafficFile), { timeout: 90_000, message: "the demo traffic has finished" }).toBe(true);
  const outcomes = JSON.parse(readFileSync(trafficFile, "utf8")) as CustomerOutcome[];
  const found = outcomes.find((o) => o.itemId && o.linkSessionId && o.report && !o.itemError);
  expect(found, "the demo traffic has a customer with an item, a Link session and a report").toBeTruthy();
  return found as CustomerOutcome & { itemId: string; linkSessionId: string };
}

test("a traffic customer found by item_id shows the item, the Link session, the webhooks and the report the publisher's app made", async ({ signInAs }) => {
  test.setTimeout(120_000);
  const customer = await trafficCustomer();
  const page = await signInAs("support");

  await page.keyboard.press("/");
  await page.keyboard.type(customer.itemId);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(`/customers/${customer.hash}`);
  await expect(page.getByTestId("customer-hash")).toHaveText(customer.hash);

  const item = page.locator(`[data-testid="plaid-item"][data-item-id="${customer.itemId}"]`);
  await expect(item).toBeVisible();
  // The item's access token was registered, so Plaid is asked about it live.
  await expect(item.getByTestId("plaid-item-live")).toBeVisible();

  const session = page.locator(`#link-${customer.linkSessionId}`);
  await expect(session).toBeVisible();
  await expect(session).toContainText(customer.linkSessionId);

  const check = page.getByRole("region", { name: "Plaid Check" });
  await expect(check.getByRole("link", { name: /Report #\d+/ })).toBeVisible();

  const timeline = page.getByTestId("timeline");
  await expect(timeline.locator('[data-kind="webhook"]').first()).toBeVisible();
  await page.getByRole("group", { name: "Show in the timeline" }).getByRole("button", { name: "Plaid webhooks" }).click();
  await expect(timeline.locator("li").first()).toHaveAttribute("data-kind", "webhook");
  await expect(timeline.locator('li:not([data-kind="webhook"])')).toHaveCount(0);

  // The escalation packet names the Link session.
  await expect(page.getByTestId("escalation-packet")).toContainText(customer.linkSessionId);

  // The same customer is found by its link_session_id, and its deliveries carry it on the webhooks page.
  await page.keyboard.press("/");
  await page.keyboard.type(customer.linkSessionId);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(`/customers/${customer.hash}`);
  await page.goto(`/webhooks?customer=${customer.hash}`);
  const deliveries = page.getByRole("table").getByRole("row");
  await expect(deliveries.nth(1)).toBeVisible();
  expect(await deliveries.count()).toBeGreaterThan(2);
  // Every delivery of this customer was handled: none ignored for an unknown item or user.
  await expect(page.getByRole("table").getByText("ignored", { exact: true })).toHaveCount(0);
  await expect(page.getByRole("table").getByText("handled", { exact: true }).first()).toBeVisible();
});

test("the traffic's consumer reports are in the ops list, settled", async ({ signInAs }) => {
  const customer = await trafficCustomer();
  const page = await signInAs("ops");
  await expect
    .poll(
      async () => {
        await page.goto(`/reports?customer=${customer.hash}`);
        return page.getByRole("table").getByRole("row").filter({ hasText: customer.hash.slice(0, 8) }).allInnerTexts();
      },
      { timeout: 30_000 },
    )
    .toEqual([expect.stringMatching(/ready|failed/)]);
});
