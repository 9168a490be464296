import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { E2E_DATA_DIR } from "../../playwright.config";
import { demoLogin, expect, signIn, test } from "./fixtures";

const hmacKey = () => (JSON.parse(readFileSync(join(E2E_DATA_DIR, "secrets.json"), "utf8")) as { CUSTOMER_ID_HMAC_KEY: string }).CUSTOMER_ID_HMAC_KEY;
const hashOf = (rawId: string) => createHmac("sha256", hmacKey()).update(rawId).digest("hex");

test("support finds a seeded customer by internal id and sees the expiring account and the verdict", async ({ signInAs }) => {
  const page = await signInAs("support");
  await page.getByRole("searchbox", { name: "Find a customer" }).fill("demo-expiring");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(`/customers/${hashOf("demo-expiring")}`);
  const verdict = page.getByTestId("verdict");
  await expect(verdict).toHaveAttribute("data-answer", "at-risk");
  await expect(verdict).toContainText("Tartan Bank ••4821 expires in 3 days.");
  const accounts = page.getByRole("table", { name: "Linked accounts" });
  await expect(accounts).toContainText("Expiring soon");
  await expect(accounts).toContainText("4821");
  await expect(accounts).toContainText("in 3 days");
  // The stored checks render with the page; this view's check joins them on the next view.
  await page.reload();
  await expect(page.getByRole("table", { name: "Account-link checks" })).toContainText("200");
});

test("support finds a customer by hash and sees why they cannot earn", async ({ signInAs }) => {
  const page = await signInAs("support");
  await page.goto("/customers");
  await page.getByLabel("Hashed customer id or internal customer id").fill(hashOf("demo-expired").toUpperCase());
  await page.getByRole("button", { name: "Look up" }).click();
  await expect(page.getByTestId("verdict")).toHaveAttribute("data-answer", "no");
  await expect(page.getByTestId("verdict")).toContainText("expired 61 days ago");
  await expect(page.getByRole("table", { name: "Linked accounts" })).toContainText("Expired");
  await page.getByRole("button", { name: "Staff actions" }).click();
  await expect(page.getByRole("listitem").filter({ hasText: "Looked up a customer" })).toHaveCount(1);
});

test("ops re-checks the expiring list and watches it finish; support may read it but not re-check", async ({ signInAs, browser }) => {
  const page = await signInAs("ops");
  for (const raw of ["demo-expiring", "demo-expired", "demo-two-cards"]) await page.goto(`/customers/${hashOf(raw)}`);
  await page.goto("/customers/expiring?within=30");
  await expect(page.getByRole("table", { name: "Expiring links" }).getByRole("row")).toHaveCount(4);
  await page.getByRole("button", { name: "Re-check this list" }).click();
  await expect(page.getByTestId("recheck-progress")).toHaveAttribute("data-status", "finished");
  await expect(page.getByTestId("recheck-progress")).toContainText("3 of 3 customers checked");
  await expect(page.getByTestId("recheck-result")).toHaveText("3 checked, 0 could not be checked.");
  // The one job progress card: the real job's counts on its bar, when it started and finished, and a live region
  // that says how it ended.
  const progress = page.getByTestId("recheck-progress");
  await expect(progress.getByRole("progressbar", { name: "Re-check progress" })).toHaveAttribute("aria-valuenow", "3");
  await expect(progress.getByRole("progressbar", { name: "Re-check progress" })).toHaveAttribute("aria-valuemax", "3");
  await expect(progress).toContainText(/Started .*UTC/);
  await expect(progress).toContainText(/Finished .*UTC/);
  await expect(progress.getByRole("status")).toHaveText(/^Re-check #\d+: finished\. 3 checked, 0 could not be checked\.$/);
  const jobId = new URL(page.url()).searchParams.get("job");
  await page.goto("/jobs");
  const row = page.getByRole("table", { name: "Jobs" }).locator(`tr[data-job="${jobId}"]`);
  await expect(row).toContainText("Cardlytics re-check");
  await expect(row).toContainText("finished");
  await expect(row).toContainText("3 of 3");

  const other = await browser.newContext();
  const support = await other.newPage();
  await support.goto("/login");
  await signIn(support, demoLogin("support").email, demoLogin("support").password);
  await expect(support.getByTestId("signed-in-as")).toBeVisible();
  await support.goto("/customers/expiring?within=30");
  await expect(support.getByRole("table", { name: "Expiring links" })).toBeVisible();
  await expect(support.getByRole("button", { name: "Re-check this list" })).toHaveCount(0);
  await other.close();
});
