import type { Locator, Page } from "@playwright/test";
import { expect, test } from "./fixtures";

const CUSTOMER = "9d".repeat(32);
// The demo's Plaid client began before the new User API, as the Consumer Report guide assumes: the console is told
// so when it sends `identity`, and makes the user with the older shape (a user_token, kept encrypted).
const OLDER_API_USER = /Plaid Check user [A-Za-z0-9]{29} created \(older user API\)/;

async function fillCheckUser(form: Locator, phone: string) {
  await form.getByLabel("Given name").fill("Alice");
  await form.getByLabel("Family name").fill("Johnson");
  await form.getByLabel("Date of birth").fill("1988-07-22");
  await form.getByLabel("Phone (E.164)").fill(phone);
  await form.getByLabel("Email").fill("alice@example.com");
  await form.getByLabel("Street").fill("123 Main St");
  await form.getByLabel("City").fill("Anytown");
  await form.getByLabel("State").fill("CA");
  await form.getByLabel("ZIP code").fill("90210");
  await form.getByRole("button", { name: "Create Plaid Check user" }).click();
}

async function regenerate(page: Page, reason: string) {
  const form = page.getByRole("form", { name: "Regenerate the report" });
  await form.getByLabel("Reason (kept in the audit log)").fill(reason);
  await form.getByRole("button", { name: "Regenerate report" }).click();
  await expect(page.getByText("Confirm that you understand the request is billable")).toBeVisible();
  await form.getByLabel(/each regeneration is billed by Plaid/).check();
  await form.getByRole("button", { name: "Regenerate report" }).click();
  await expect(page.getByRole("status")).toContainText("queued");
}

test("ops creates a Plaid Check user, regenerates the report and watches the webhook settle it (failed: no bank is linked to this user)", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto(`/customers/${CUSTOMER}`);
  await page.getByRole("link", { name: "Plaid Check consumer reports for this customer →" }).click();
  const userForm = page.getByRole("form", { name: "Create the Plaid Check user" });
  await fillCheckUser(userForm, "+1415555");
  await expect(page.getByText("Use E.164")).toBeVisible();
  await userForm.getByLabel("Phone (E.164)").fill("+14155550123");
  await userForm.getByRole("button", { name: "Create Plaid Check user" }).click();
  await expect(page.getByRole("status")).toContainText(OLDER_API_USER);

  await regenerate(page, "customer asked for a fresh income check");
  const firstRow = page.getByRole("table", { name: "Report requests" }).getByRole("row").nth(1);
  // No item is linked for this user, so Plaid reports the generation as failed; either way the webhook decides.
  await expect(async () => {
    await page.reload();
    await expect(firstRow).toContainText(/ready|failed/, { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(firstRow).toContainText("CHECK_REPORT_FAILED");
});

const READY_CUSTOMER = "8e".repeat(32);

test("ops links a sandbox bank to the Check user, regenerates, watches the report turn ready when the webhook arrives, and reads it", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto(`/customers/${READY_CUSTOMER}/check`);
  const userForm = page.getByRole("form", { name: "Create the Plaid Check user" });
  for (const [label, value] of [["Given name", "Bea"], ["Family name", "Okafor"], ["Date of birth", "1990-03-14"], ["Phone (E.164)", "+14155550199"], ["Email", "bea@example.com"], ["Street", "9 Elm St"], ["City", "Springfield"], ["State", "IL"], ["ZIP code", "62701"]] as const) {
    await userForm.getByLabel(label).fill(value);
  }
  await userForm.getByRole("button", { name: "Create Plaid Check user" }).click();
  await expect(page.getByRole("status")).toContainText(OLDER_API_USER);

  await page.getByRole("link", { name: "Link a sandbox bank to this user →" }).click();
  await expect(page.getByLabel("Customer hash")).toHaveValue(READY_CUSTOMER);
  await expect(page.getByLabel(/Link to the customer's Plaid Check user/)).toBeChecked();
  await expect(page.getByLabel("Test persona")).toHaveValue("user_bank_income");
  await page.getByRole("button", { name: "Mint public token" }).click();
  await page.getByRole("button", { name: "Exchange now" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");

  await page.goto(`/customers/${READY_CUSTOMER}/check`);
  const regenerate = page.getByRole("form", { name: "Regenerate the report" });
  await regenerate.getByLabel("Reason (kept in the audit log)").fill("customer asked for a fresh income check");
  await regenerate.getByLabel(/each regeneration is billed by Plaid/).check();
  await regenerate.getByRole("button", { name: "Regenerate report" }).click();
  await expect(page.getByRole("status")).toContainText("queued");
  // No reload: the page follows the request until Plaid's webhook settles it.
  const firstRow = page.getByRole("table", { name: "Report requests" }).getByRole("row").nth(1);
  await expect(firstRow).toContainText("ready", { timeout: 30_000 });
  await expect(firstRow.getByTestId("expiry-countdown")).toHaveText(/^2[34]h \d\dm \d\ds left$/);

  await firstRow.getByRole("link", { name: "View report" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(/Report request #\d+/);
  const accounts = page.getByRole("table", { name: "Accounts in the report" });
  await expect(accounts.getByRole("row").filter({ hasText: "Plaid Checking" })).toContainText("$5,350.00");
  await expect(page.getByRole("table", { name: "Income streams" })).toContainText("$6,250.00");
  await page.getByText("base_report/get").click();
  await expect(page.getByText('"report_id"').first()).toBeVisible();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Plaid Check" }).click();
  await page.getByLabel("Customer hash").fill(READY_CUSTOMER);
  await page.getByRole("button", { name: "Filter" }).click();
  const listed = page.getByRole("table", { name: "Report requests" }).getByRole("row");
  await expect(listed).toHaveCount(2);
  await expect(listed.nth(1)).toContainText("ready");
});

test("support can read Plaid Check but cannot create users, regenerate or start a bulk run", async ({ signInAs, baseURL }) => {
  const page = await signInAs("support");
  await page.goto(`/customers/${CUSTOMER}/check`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Plaid Check consumer reports");
  await expect(page.getByRole("form", { name: "Regenerate the report" })).toHaveCount(0);
  await expect(page.getByRole("form", { name: "Create the Plaid Check user" })).toHaveCount(0);
  // The server refuses it too, not only the page: a same-origin POST from support's own session.
  const refused = await page.request.post(`/customers/${READY_CUSTOMER}/check`, { headers: { Origin: baseURL! }, form: { intent: "regenerate", reason: "trying anyway", purpose: "ACCOUNT_REVIEW_CREDIT", daysRequested: "365", products: "cra_income_insights", billable: "yes" } });
  expect(refused.status()).toBe(403);
  await page.goto("/reports/bulk");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Bulk report regeneration");
  await expect(page.getByRole("form", { name: "Start a bulk regeneration" })).toHaveCount(0);
});

test("ops starts a bulk regeneration from a pasted list and sees a result for every line", async ({ signInAs }) => {
  // Its own customers: one with a report just requested (in cooldown), one with a Check user and no report yet.
  const [recent, fresh, unknown] = ["6a".repeat(32), "6b".repeat(32), "6c".repeat(32)];
  const page = await signInAs("ops");
  for (const hash of [recent, fresh]) {
    await page.goto(`/customers/${hash}/check`);
    await fillCheckUser(page.getByRole("form", { name: "Create the Plaid Check user" }), "+14155550123");
    await expect(page.getByRole("status")).toContainText(OLDER_API_USER);
  }
  await page.goto(`/customers/${recent}/check`);
  await regenerate(page, "customer asked for a fresh income check");

  await page.goto("/reports");
  await page.getByRole("link", { name: "Bulk regeneration" }).click();
  const bulk = page.getByRole("form", { name: "Start a bulk regeneration" });
  await bulk.getByLabel("Customer hashes").fill([recent, fresh, "not-a-hash", unknown, fresh].join("\n"));
  await bulk.getByLabel(/Reason/).fill("monthly review of linked customers");
  await bulk.getByRole("button", { name: "Start bulk regeneration" }).click();
  await expect(bulk.getByText("Confirm that you understand every queued line is a billable request")).toBeVisible();
  await bulk.getByLabel(/every line queued is a regeneration Plaid bills/).check();
  await bulk.getByRole("button", { name: "Start bulk regeneration" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(/Bulk run #\d+/);
  await expect(page.getByTestId("bulk-progress")).toHaveAttribute("data-status", "finished", { timeout: 15_000 });
  const lines = page.getByRole("table", { name: "Lines of the run" }).getByRole("row");
  await expect(lines.nth(1)).toContainText("skipped: cooldown");
  await expect(lines.nth(2)).toContainText(/queued as a report.*#\d+/);
  await expect(lines.nth(3)).toContainText("invalid hash");
  await expect(lines.nth(4)).toContainText("no Plaid Check user");
  await expect(lines.nth(5)).toContainText("duplicate line");
  await expect(lines.nth(5)).toContainText("Listed already on line 2");

  // The run on the background jobs page, with its result, and the scheduled dispatch that worked it.
  const runId = new URL(page.url()).pathname.split("/").pop()!;
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Background jobs");
  const job = page.getByRole("table", { name: "Jobs" }).getByRole("row").filter({ has: page.locator(`a[href="/reports/bulk/${runId}"]`) });
  await expect(job).toContainText("Plaid Check bulk regeneration");
  await expect(job).toContainText("finished");
  await expect(job).toContainText("5 of 5");
  for (const part of ["queued 1", "cooldown 1", "invalid 1", "no user 1", "duplicate 1"]) await expect(job).toContainText(part);
  await expect(job).toContainText("ops@linkdesk.test");
  const dispatch = page.getByRole("table", { name: "Scheduled work" }).getByRole("row", { name: /Plaid Check dispatch/ });
  await expect(dispatch).toContainText("finished");
  await job.getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Bulk run #${runId}`);
});

test("support finds the reports Plaid generated after the demo's Check Link sessions, for users of both User API generations", async ({ signInAs }) => {
  test.setTimeout(120_000);
  const page = await signInAs("support");
  const fromLink = page.getByRole("table", { name: "Report requests" }).getByRole("row").filter({ hasText: "Plaid, after a Link session" });
  // The demo's traffic plays its customers once the console is up: wait until its Link-started reports are recorded.
  await expect(async () => {
    await page.goto("/reports");
    const ids = await fromLink.getByRole("link", { name: /^#\d+$/ }).allTextContents();
    const generations = new Set<string>();
    for (const id of ids) {
      await page.goto(`/reports/${id.slice(1)}`);
      await expect(page.getByRole("heading", { level: 1 })).toContainText(`Report request ${id}`);
      generations.add((await page.getByText(/\((current|older) API\)/).textContent())!.includes("current") ? "new" : "legacy");
    }
    expect([...generations].sort()).toEqual(["legacy", "new"]);
  }).toPass({ timeout: 90_000 });
});
