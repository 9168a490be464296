import { readFileSync } from "node:fs";
import { expect, test } from "./fixtures";

const count = (text: string | null) => Number((text ?? "").replaceAll(",", ""));

test("pm reads the funnel on demo data, changes the range and the breakdown, exports CSV and opens a drop-off list", async ({ signInAs }) => {
  const page = await signInAs("pm");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Funnel" }).click();
  await expect(page.getByRole("heading", { name: "Linking funnel" })).toBeVisible();
  // The demo posts its ninety days of history just after the server starts.
  await expect(async () => {
    await page.reload();
    expect(count(await page.getByTestId("summary-started").textContent())).toBeGreaterThan(0);
  }).toPass({ timeout: 30_000 });
  const started30 = count(await page.getByTestId("summary-started").textContent());
  const steps = page.getByRole("table", { name: "Funnel steps" });
  await expect(steps.locator('tr[data-step="link_started"] td').nth(1)).toHaveText(started30.toLocaleString("en-US"));
  await expect(page.getByRole("img", { name: /Funnel chart/ })).toBeVisible();
  await expect(page.getByRole("img", { name: /Trend chart/ })).toBeVisible();
  await expect(page.getByRole("table", { name: "Link exit reasons" })).toContainText("INVALID_CREDENTIALS");

  await page.getByRole("link", { name: "Last 90 days" }).click();
  const from90 = new Date(Date.now() - 89 * 86_400_000).toISOString().slice(0, 10);
  await expect(page.getByLabel("From (UTC)")).toHaveValue(from90);
  await expect(page).toHaveURL(new RegExp(`from=${from90}`));
  const started90 = count(await page.getByTestId("summary-started").textContent());
  expect(started90).toBeGreaterThan(started30);

  await page.getByLabel("Break down by").selectOption("institution");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByRole("table", { name: "Breakdown" })).toContainText("First Platypus Bank");
  await page.getByLabel("Break down by").selectOption("attr:platform");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByRole("heading", { name: "By platform" })).toBeVisible();
  await expect(page.getByRole("table", { name: "Breakdown" })).toContainText("android");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
  const csv = readFileSync((await download.path())!, "utf8").split("\r\n");
  expect(csv[0]).toBe("period,group,step,customers,conversion_from_previous,conversion_from_first,dropped_off,median_seconds_to_next,p90_seconds_to_next");
  expect(csv.find((l) => l.includes(",all,link_started,"))).toContain(`,all,link_started,${started90},`);
  expect(csv.some((l) => l.includes(",attr:platform=ios,account_linked,"))).toBe(true);

  const firstDrop = steps.locator('tr[data-step="institution_selected"] a');
  const dropped = count(await firstDrop.textContent());
  await firstDrop.click();
  await expect(page.getByRole("heading", { name: "Reached “Link started” but not “Institution selected”" })).toBeVisible();
  const rows = page.getByRole("table", { name: "Customers who dropped off" }).locator("tbody tr");
  await expect(rows).toHaveCount(Math.min(dropped, 100));
  // Customer pages are not open to product managers: they get the hash to pass on instead of a dead link.
  await expect(rows.first().getByRole("button", { name: /Copy hash/ })).toBeVisible();
});

test("support is refused the funnel", async ({ signInAs }) => {
  const page = await signInAs("support");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Funnel" })).toHaveCount(0);
  const response = await page.goto("/funnel");
  expect(response?.status()).toBe(403);
  expect((await page.request.get("/funnel.csv")).status()).toBe(403);
});

test("admin creates an event API key, the key posts an event, and once revoked it is refused", async ({ signInAs }) => {
  const page = await signInAs("admin");
  await page.getByRole("navigation", { name: "Main" }).getByText(/^Admin/).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("New key's name").fill("Browser test backend");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-api-key").textContent())!.trim();
  expect(key).toMatch(/^lkd_/);
  const event = { event_id: `e2e-${Date.now()}`, name: "link_started", occurred_at: new Date().toISOString(), customer_hash: "e".repeat(64) };
  const accepted = await page.request.post("/api/events", { headers: { Authorization: `Bearer ${key}` }, data: { events: [event] } });
  expect(accepted.status()).toBe(200);
  expect(await accepted.json()).toMatchObject({ accepted: 1, rejected: 0 });

  await page.reload();
  const row = page.getByRole("row", { name: /Browser test backend/ });
  await expect(row).toContainText("1");
  await row.getByRole("textbox").fill("revoke");
  await row.getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByRole("status")).toHaveText("Key revoked.");
  const refused = await page.request.post("/api/events", { headers: { Authorization: `Bearer ${key}` }, data: { events: [{ ...event, event_id: `${event.event_id}-2` }] } });
  expect(refused.status()).toBe(401);
  expect(await refused.json()).toMatchObject({ error: "revoked_key" });
});
