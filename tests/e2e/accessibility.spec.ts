import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "@playwright/test";
import { E2E_DATA_DIR } from "../../playwright.config";
import type { Role } from "../../app/staff/permissions";
import { auditPage } from "./a11y";
import { demoLogin, expect, signIn, test } from "./fixtures";

// Every page state of each role's day, checked by axe (WCAG 2.1 A and AA: any violation fails) and by the layout
// probe at 1280, 1366 and 1920 px (content that runs past or is cut by its card or cell, scrollers a keyboard cannot
// reach). One sign-in per role; the problems of the whole journey are reported together.

const hmacKey = () => (JSON.parse(readFileSync(join(E2E_DATA_DIR, "secrets.json"), "utf8")) as { CUSTOMER_ID_HMAC_KEY: string }).CUSTOMER_ID_HMAC_KEY;
const hashOf = (rawId: string) => createHmac("sha256", hmacKey()).update(rawId).digest("hex");

// A step that cannot reach its state fails at once rather than waiting out the whole journey's time.
test.use({ actionTimeout: 15_000, navigationTimeout: 20_000 });

type Step = [state: string, reach: (page: Page) => Promise<void>];

/** The page has drawn what it streams: no section is still busy and no vendor is still being asked. */
async function settled(page: Page) {
  await page.waitForLoadState("load");
  await expect(page.locator('[aria-busy="true"]')).toHaveCount(0, { timeout: 20_000 });
  await expect(page.getByText(/^Asking (Cardlytics|Plaid)…/)).toHaveCount(0, { timeout: 20_000 });
}

const visit = (path: string, heading?: string | RegExp): Step[1] => async (page) => {
  await page.goto(path);
  if (heading) await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
  await settled(page);
};

/** Opens the first row's first link of a table, reached from a list page. */
const firstRowOf = (path: string, table: string): Step[1] => async (page) => {
  await page.goto(path);
  await page.getByRole("table", { name: table }).getByRole("row").nth(1).getByRole("link").first().click();
  await page.waitForURL((url) => url.pathname !== path);
  await settled(page);
};

const openMenu = (name: RegExp | string): Step[1] => async (page) => {
  await page.getByRole("navigation", { name: "Main" }).getByText(name).click();
};

function customerSteps(): Step[] {
  return [
    ["customer lookup", visit("/customers", "Find a customer")],
    [
      "customer lookup with a malformed hash",
      async (page) => {
        await page.goto("/customers");
        await page.getByLabel("Hashed customer id or internal customer id").fill(`${"ab".repeat(31)}a`);
        await page.getByRole("button", { name: "Look up" }).click();
        await expect(page.getByRole("alert")).toBeVisible();
      },
    ],
    ["customer with an expiring link", visit(`/customers/${hashOf("demo-expiring")}`)],
    [
      "customer with an expiring link, staff actions and ids open",
      async (page) => {
        await page.getByRole("button", { name: "Staff actions" }).click();
        await page.getByText("Ids on record for this customer").click();
        await page.getByText("Escalation packet", { exact: true }).click();
      },
    ],
    ["customer with an expired link", visit(`/customers/${hashOf("demo-expired")}`)],
    ["customer with two cards", visit(`/customers/${hashOf("demo-two-cards")}`)],
    [
      "the customer page's keyboard shortcuts",
      async (page) => {
        await page.locator("body").press("?");
        await expect(page.getByRole("dialog", { name: "Keyboard shortcuts on a customer's page" })).toBeVisible();
      },
    ],
    [
      "the shortcuts closed by Esc",
      async (page) => {
        await page.keyboard.press("Escape");
        await expect(page.getByRole("dialog")).toBeHidden();
      },
    ],
    ["customer nothing is known about", visit(`/customers/${"0f".repeat(32)}`)],
    ["customer in mock data", visit(`/customers/${hashOf("demo-two-cards")}?mock=1`)],
    ["expiring links", visit("/customers/expiring?within=30", /Expiring/)],
    ["webhook history", visit("/webhooks")],
    ["a webhook delivery", firstRowOf("/webhooks", "Webhook deliveries")],
    ["Plaid Check report list", visit("/reports")],
    ["a consumer report", firstRowOf("/reports", "Report requests")],
    [
      "the report's customer and their Plaid Check page",
      async (page) => {
        await page.getByRole("link", { name: /Plaid Check for customer/ }).click();
        await expect(page.getByRole("heading", { level: 1 })).toHaveText("Plaid Check consumer reports");
        await settled(page);
      },
    ],
    ["bulk regeneration", visit("/reports/bulk", "Bulk report regeneration")],
  ];
}

const JOURNEYS: Record<Role, Step[]> = {
  support: [["home", visit("/", /^Hello/)], ...customerSteps(), ["a page support may not open", visit("/admin/audit", "You don't have access to this")], ["a page that does not exist", visit("/no/such/page", "Page not found")]],
  ops: [
    ["home", visit("/", /^Hello/)],
    ...customerSteps(),
    ["background jobs", visit("/jobs", "Background jobs")],
    [
      "the keyboard shortcuts on a page without its own",
      async (page) => {
        await page.locator("body").press("?");
        await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeVisible();
      },
    ],
    [
      "the keyboard shortcuts closed by Esc",
      async (page) => {
        await page.keyboard.press("Escape");
        await expect(page.getByRole("dialog")).toBeHidden();
      },
    ],
    ["Plaid Check page of a customer with no Check user", visit(`/customers/${"1e".repeat(32)}/check`, "Plaid Check consumer reports")],
    [
      "Check user form with errors",
      async (page) => {
        await page.getByRole("form", { name: "Create the Plaid Check user" }).getByRole("button", { name: "Create Plaid Check user" }).click();
        await expect(page.getByRole("alert").first()).toBeVisible();
      },
    ],
    ["Plaid sandbox", visit(`/plaid/sandbox?customer=${"1e".repeat(32)}`)],
    [
      "Plaid sandbox with a minted public token",
      async (page) => {
        await page.getByRole("button", { name: "Mint public token" }).click();
        await expect(page.getByTestId("public-token")).toBeVisible();
      },
    ],
    [
      "a Plaid item just exchanged",
      async (page) => {
        await page.getByRole("button", { name: "Exchange now" }).click();
        await expect(page.getByRole("heading", { level: 1 })).toHaveText("First Platypus Bank");
        await settled(page);
      },
    ],
    ["the header's menus", async (page) => page.getByTestId("signed-in-as").click()],
  ],
  pm: [
    ["home", visit("/", /^Hello/)],
    ["funnel", visit("/funnel", "Linking funnel")],
    [
      "funnel over 90 days",
      async (page) => {
        await page.getByRole("link", { name: "Last 90 days" }).click();
        await page.waitForURL((url) => url.searchParams.has("from"));
        await settled(page);
      },
    ],
    [
      "drop-off list",
      async (page) => {
        await page.getByRole("table", { name: "Funnel steps" }).getByRole("link", { name: /customers dropped before/ }).first().click();
        await page.waitForURL(/\/funnel\/dropoff/);
        await settled(page);
      },
    ],
    ["a customer page pm may not open", visit(`/customers/${"d".repeat(64)}`, "You don't have access to this")],
  ],
  admin: [
    ["home", visit("/", /^Hello/)],
    ["the admin menu", openMenu(/^Admin/)],
    ["staff accounts", visit("/admin/staff")],
    ["a staff account", firstRowOf("/admin/staff", "Staff accounts")],
    ["new staff account", visit("/admin/staff/new")],
    [
      "new staff account with errors",
      async (page) => {
        await page.getByRole("button", { name: "Create account" }).click();
        await expect(page.getByText("Enter a name")).toBeVisible();
      },
    ],
    ["API keys", visit("/admin/api-keys")],
    ["audit log", visit("/admin/audit", "Audit log")],
    ["audit log filtered to customer views", visit("/admin/audit?action=customer.view", "Audit log")],
    ["backups", visit("/admin/backups", "Backups")],
    ["change your password", visit("/account/password")],
    ["your sessions", visit("/account/sessions", "Your sessions")],
    ["sign-in security", visit("/account/security", "Sign-in security")],
    ["sign-in policy", visit("/admin/security", "Sign-in policy")],
    ["funnel", visit("/funnel", "Linking funnel")],
    ["a customer", visit(`/customers/${hashOf("demo-expiring")}`)],
  ],
};

test("the sign-in page, and its wrong-password state, pass axe and fit", async ({ page }) => {
  const problems: string[] = [];
  await page.goto("/login");
  problems.push(...(await auditPage(page, "sign-in")));
  await signIn(page, demoLogin("ops").email, "definitely-not-it");
  await expect(page.getByRole("alert")).toBeVisible();
  problems.push(...(await auditPage(page, "sign-in with a wrong password")));
  expect(problems, problems.join("\n")).toEqual([]);
});

for (const [role, steps] of Object.entries(JOURNEYS) as [Role, Step[]][]) {
  test(`every page state of ${role}'s journey passes axe and fits at 1280, 1366 and 1920 px`, async ({ signInAs }) => {
    test.setTimeout(240_000);
    const page = await signInAs(role);
    for (const [state, reach] of steps) {
      await test.step(state, async () => {
        await reach(page);
        const problems = await auditPage(page, `${role} · ${state}`);
        expect.soft(problems, problems.join("\n")).toEqual([]);
      });
    }
  });
}

test("a tab says which page and which environment it is: the title and the icon's colour", async ({ signInAs }) => {
  const page = await signInAs("support");
  await page.goto(`/customers/${hashOf("demo-expiring")}`);
  await expect(page).toHaveTitle(`Customer ${hashOf("demo-expiring").slice(0, 8)}… · Linkdesk [SIMULATOR]`);
  const icon = page.locator('link[rel="icon"]');
  await expect(icon).toHaveAttribute("href", "/favicon-simulator.svg");
  const served = await page.request.get((await icon.getAttribute("href"))!);
  expect(served.status()).toBe(200);
  expect(await served.text()).toContain('fill="#059669"');
  await page.goto("/reports");
  await expect(page).toHaveTitle("Plaid Check · Linkdesk [SIMULATOR]");
});

test("a customer's common actions are a key away, and '?' lists them", async ({ signInAs }) => {
  const page = await signInAs("ops");
  const hash = hashOf("demo-expiring");
  await page.goto(`/customers/${hash}`);
  await settled(page);
  await page.locator("body").press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts on a customer's page" });
  await expect(help).toContainText("Open the customer's Plaid Check reports");
  await expect(help).toContainText("Mint a sandbox item for this customer");
  // While the list is open its keys do nothing; Esc closes it.
  await page.keyboard.press("k");
  await expect(page).toHaveURL(`/customers/${hash}`);
  await page.keyboard.press("Escape");
  await expect(help).toBeHidden();
  await page.keyboard.press("t");
  await expect(page.getByRole("group", { name: "Show in the timeline" }).getByRole("button").first()).toBeFocused();
  // Typing in a field is never taken for a shortcut.
  await page.getByRole("searchbox", { name: "Find a customer" }).focus();
  await page.keyboard.type("k");
  await expect(page).toHaveURL(`/customers/${hash}`);
  await page.locator("body").click();
  await page.keyboard.press("k");
  await expect(page).toHaveURL(`/customers/${hash}/check`);
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Plaid Check" })).toHaveAttribute("aria-current", "true");
});

test("'?' opens the keyboard shortcuts from any page, Esc closes them and menus, and focus comes back", async ({ signInAs }) => {
  const page = await signInAs("ops");
  await page.goto("/webhooks");
  await settled(page);
  const exportLink = page.getByRole("link", { name: "Export CSV" });
  await exportLink.focus();
  await page.keyboard.press("?");
  const help = page.getByRole("dialog", { name: "Keyboard shortcuts" });
  await expect(help).toBeVisible();
  await expect(help).toHaveAttribute("aria-modal", "true");
  await expect(help).toContainText("Find a customer (the search in the header)");
  await expect(help).toContainText("Show this list of shortcuts");
  // This page registers no keys of its own, so there is no list for it.
  await expect(help.getByRole("heading", { name: "On this page" })).toHaveCount(0);
  // Focus moved into the dialog, and the page's own keys wait while it is open.
  await expect(help.getByRole("button", { name: "Close" })).toBeFocused();
  await page.keyboard.press("/");
  await expect(page.getByRole("searchbox", { name: "Find a customer" })).not.toBeFocused();
  await page.keyboard.press("Escape");
  await expect(help).toBeHidden();
  await expect(exportLink).toBeFocused();

  // A "?" typed into a field is a character, not a shortcut.
  const search = page.getByRole("searchbox", { name: "Find a customer" });
  await page.keyboard.press("/");
  await expect(search).toBeFocused();
  await page.keyboard.type("?");
  await expect(search).toHaveValue("?");
  await expect(help).toBeHidden();

  // Esc closes a header menu opened by keyboard, and focus goes back to its toggle.
  const account = page.getByTestId("signed-in-as");
  await account.focus();
  await page.keyboard.press("Enter");
  const changePassword = page.getByRole("link", { name: "Change password" });
  await expect(changePassword).toBeVisible();
  await changePassword.focus();
  await page.keyboard.press("Escape");
  await expect(changePassword).toBeHidden();
  await expect(account).toBeFocused();

  // On the customer page the same dialog lists the page's own keys as well as those of every page.
  await page.goto(`/customers/${hashOf("demo-expiring")}`);
  await settled(page);
  const shortcutsButton = page.getByRole("button", { name: /^Shortcuts/ });
  await shortcutsButton.focus();
  await page.keyboard.press("Enter");
  const customerHelp = page.getByRole("dialog", { name: "Keyboard shortcuts on a customer's page" });
  await expect(customerHelp.getByRole("heading", { name: "On this page" })).toBeVisible();
  await expect(customerHelp.getByRole("heading", { name: "On every page" })).toBeVisible();
  await expect(customerHelp).toContainText("Find a customer (the search in the header)");
  await page.keyboard.press("Escape");
  await expect(customerHelp).toBeHidden();
  await expect(shortcutsButton).toBeFocused();
});
