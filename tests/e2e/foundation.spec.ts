import { demoLogin, expect, signIn, test } from "./fixtures";

const NAV = {
  support: ["Home", "Customers", "Expiring links", "Webhooks", "Plaid Check"],
  ops: ["Home", "Customers", "Expiring links", "Webhooks", "Plaid Check", "Plaid sandbox", "Jobs"],
  pm: ["Home", "Funnel"],
  admin: ["Home", "Customers", "Expiring links", "Webhooks", "Plaid Check", "Plaid sandbox", "Funnel"],
} as const;
const ADMIN_MENU = ["Staff", "API keys", "Audit log", "Backups", "Sign-in policy", "Jobs"];

for (const [role, items] of Object.entries(NAV) as [keyof typeof NAV, readonly string[]][]) {
  test(`${role} signs in and sees their own navigation`, async ({ signInAs }) => {
    const page = await signInAs(role);
    await expect(page).toHaveURL(/\/$/);
    const nav = page.getByRole("navigation", { name: "Main" });
    await expect(nav.getByRole("link")).toHaveText([...items]);
    await expect(nav.getByText(/^Admin/)).toHaveCount(role === "admin" ? 1 : 0);
    if (role === "admin") {
      await nav.getByText(/^Admin/).click();
      await expect(nav.getByRole("link")).toHaveText([...items, ...ADMIN_MENU]);
      await page.keyboard.press("Escape");
      await expect(nav.getByRole("link", { name: "Staff" })).toBeHidden();
    }
    await expect(page.getByTestId("environment-badge")).toHaveText("SIMULATOR");
    await expect(page.getByRole("search")).toHaveCount(role === "pm" ? 0 : 1);
    // At the default 1280 px the whole header, the account menu included, stays on one line.
    const brand = await page.getByRole("link", { name: "Linkdesk", exact: true }).boundingBox();
    const account = await page.getByTestId("signed-in-as").boundingBox();
    expect(Math.abs((account?.y ?? Infinity) + (account?.height ?? 0) / 2 - ((brand?.y ?? 0) + (brand?.height ?? 0) / 2))).toBeLessThan(8);
  });
}

test("support is refused the admin pages", async ({ signInAs }) => {
  const page = await signInAs("support");
  for (const path of ["/admin/staff", "/admin/staff/new", "/admin/audit"]) {
    const response = await page.goto(path);
    expect(response?.status()).toBe(403);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("You don't have access to this");
  }
});

test("an anonymous visitor is sent to sign in and then back to the page they asked for", async ({ page }) => {
  const response = await page.goto("/admin/audit?action=staff.*");
  expect(response?.status()).toBe(401);
  await expect(page).toHaveURL(/\/login\?redirectTo=%2Fadmin%2Faudit/);
  const admin = demoLogin("admin");
  await signIn(page, admin.email, admin.password);
  await expect(page).toHaveURL(/\/admin\/audit\?action=staff\.\*/);
  await expect(page.getByRole("table", { name: "Audit entries" })).toContainText("staff.login");
});

test("a wrong password gets one clear message and no session", async ({ page }) => {
  await page.goto("/login");
  await signIn(page, demoLogin("ops").email, "definitely-not-it");
  await expect(page.getByRole("alert")).toHaveText("That email and password do not match an active staff account.");
  await page.goto("/");
  await expect(page).toHaveURL(/\/login/);
});

test("admin creates a staff user who then signs in", async ({ signInAs, browser }) => {
  const page = await signInAs("admin");
  await page.getByRole("navigation", { name: "Main" }).getByText(/^Admin/).click();
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Staff" }).click();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Staff" })).toBeHidden();
  await page.getByRole("link", { name: "New staff account" }).click();
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Enter a name")).toBeVisible();
  const email = `new.agent.${Date.now()}@linkdesk.test`;
  await page.getByLabel("Name").fill("Nova Agent");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Role").selectOption("support");
  await page.getByLabel("Initial password").fill("a-very-long-initial-pass");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Nova Agent");
  await expect(page.getByTestId("flash")).toContainText("Account created");
  // The message came by cookie, once: not in the address, and gone on reload.
  expect(page.url()).not.toContain("created");
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Nova Agent");
  await expect(page.getByTestId("flash")).toHaveCount(0);

  const other = await browser.newContext();
  const newcomer = await other.newPage();
  await newcomer.goto("/login");
  await signIn(newcomer, email, "a-very-long-initial-pass");
  await expect(newcomer.getByTestId("signed-in-as")).toHaveText(/^Nova Agent/);
  await newcomer.getByTestId("signed-in-as").click();
  await expect(newcomer.getByTestId("signed-in-role")).toHaveText("Signed in as Nova Agent · Support agent");
  await other.close();

  await page.getByRole("link", { name: "Full audit log" }).click();
  await expect(page.getByRole("table", { name: "Audit entries" })).toContainText("staff.login");
});

test("signing out ends the session on the server", async ({ signInAs, context }) => {
  const page = await signInAs("pm");
  const cookies = await context.cookies();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeHidden();
  await page.getByTestId("signed-in-as").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  // Putting the old cookie back does not bring the session back.
  await context.addCookies(cookies);
  const response = await page.goto("/");
  expect(response?.status()).toBe(401);
  await expect(page).toHaveURL(/\/login/);
});

test("'/' focuses the customer search and unknown pages say 404", async ({ signInAs }) => {
  const page = await signInAs("support");
  await page.locator("body").click();
  await page.keyboard.press("/");
  await expect(page.getByRole("searchbox", { name: "Find a customer" })).toBeFocused();
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
});

test("a staff member whose account an admin disables is signed out and told why on the sign-in page", async ({ signInAs, browser }) => {
  const admin = await signInAs("admin");
  const email = `leaving.agent.${Date.now()}@linkdesk.test`;
  await admin.goto("/admin/staff/new");
  await admin.getByLabel("Name").fill("Leaving Agent");
  await admin.getByLabel("Email").fill(email);
  await admin.getByLabel("Role").selectOption("support");
  await admin.getByLabel("Initial password").fill("a-very-long-initial-pass");
  await admin.getByRole("button", { name: "Create account" }).click();
  await expect(admin.getByRole("heading", { level: 1 })).toHaveText("Leaving Agent");

  const other = await browser.newContext();
  const agent = await other.newPage();
  await agent.goto("/login");
  await signIn(agent, email, "a-very-long-initial-pass");
  await expect(agent.getByTestId("signed-in-as")).toHaveText(/^Leaving Agent/);
  await expect(agent.getByTestId("session-ended")).toHaveCount(0);

  admin.once("dialog", (dialog) => void dialog.accept());
  await admin.getByRole("button", { name: "Disable account" }).click();
  await expect(admin.getByRole("button", { name: "Re-enable account" })).toBeVisible();

  await agent.goto("/customers");
  await expect(agent).toHaveURL(/\/login\?redirectTo=%2Fcustomers/);
  await expect(agent.getByTestId("session-ended")).toHaveText(/An administrator ended your session: this account has been disabled/);
  // Signing in again is refused with the same words as a wrong password: nothing says the account exists.
  await signIn(agent, email, "a-very-long-initial-pass");
  await expect(agent.getByRole("alert")).toHaveText("That email and password do not match an active staff account.");
  await other.close();
});

test("a submit pending on one form leaves the page's other forms usable", async ({ signInAs }) => {
  const page = await signInAs("admin");
  await page.goto("/admin/api-keys");
  await page.getByLabel("New key's name").fill("Form independence check");
  await page.getByRole("button", { name: "Create key" }).click();
  await expect(page.getByTestId("new-api-key")).toBeVisible();

  // Hold the revoke on its way to the server, to look at the page while it is pending.
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(
    (url) => url.pathname.startsWith("/admin/api-keys"),
    async (route) => {
      if (route.request().method() === "POST") await held;
      await route.continue();
    },
  );
  const revoke = page.getByRole("form", { name: "Revoke Form independence check" });
  await revoke.getByLabel("Type revoke to revoke Form independence check").fill("revoke");
  await revoke.getByRole("button", { name: "Revoke" }).click();
  const revoking = revoke.getByRole("button", { name: "Revoking…" });
  await expect(revoking).toBeDisabled();
  await expect(revoking).toHaveAttribute("aria-busy", "true");
  // The create form is another form: its button stays as it was.
  await expect(page.getByRole("button", { name: "Create key" })).toBeEnabled();
  await expect(page.getByRole("button", { name: "Create key" })).not.toHaveAttribute("aria-busy", "true");
  release();
  await expect(page.getByText("Key revoked.")).toBeVisible();
  await page.unrouteAll({ behavior: "wait" });
});
