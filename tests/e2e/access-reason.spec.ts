import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test, expect, type Browser, type Page } from "@playwright/test";
import type { DemoLogin } from "../../db/seed";
import type { Role } from "../../app/staff/permissions";
import { freePort } from "../support/console-process";
import { auditPage } from "./a11y";
import { signIn } from "./fixtures";

// The Playwright web server runs the demo, which does not ask for a reason. This spec starts a second demo from the
// same production build, on its own data directory, with REQUIRE_ACCESS_REASON=on as outside the demo.

const DATA_DIR = "data/e2e-access-reason";
let child: ChildProcess;
let url: string;
let output = "";

test.beforeAll(async () => {
  test.setTimeout(120_000);
  const port = await freePort();
  child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--fresh"], {
    env: { ...process.env, LINKDESK_DATA_DIR: DATA_DIR, PORT: String(port), REQUIRE_ACCESS_REASON: "on", DEMO_FUNNEL_HISTORY: "0", DEMO_TRAFFIC: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  await expect.poll(() => output, { timeout: 100_000 }).toContain("Linkdesk demo is running at");
  url = `http://127.0.0.1:${port}`;
});

test.afterAll(async () => {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
});

const login = (role: Role) => (JSON.parse(readFileSync(join(DATA_DIR, "demo-logins.json"), "utf8")) as DemoLogin[]).find((l) => l.role === role)!;
const hashOf = (rawId: string) => createHmac("sha256", (JSON.parse(readFileSync(join(DATA_DIR, "secrets.json"), "utf8")) as { CUSTOMER_ID_HMAC_KEY: string }).CUSTOMER_ID_HMAC_KEY).update(rawId).digest("hex");

async function signedIn(browser: Browser, role: Role): Promise<Page> {
  const page = await (await browser.newContext({ baseURL: url })).newPage();
  await page.goto("/login");
  await signIn(page, login(role).email, login(role).password);
  await expect(page.getByTestId("signed-in-as")).toContainText(login(role).name);
  return page;
}

test("with REQUIRE_ACCESS_REASON on, a customer opens only after a reason, asked once, and the admin finds it in the audit log", async ({ browser }) => {
  test.setTimeout(90_000);
  const problems: string[] = [];
  const hash = hashOf("demo-expiring");
  const agent = await signedIn(browser, "support");

  // The header's search box leads through the prompt to the customer it found.
  await agent.getByRole("searchbox", { name: "Find a customer" }).fill("demo-expiring");
  await agent.keyboard.press("Enter");
  await expect(agent).toHaveURL(`/customers/${hash}/access?redirectTo=${encodeURIComponent(`/customers/${hash}`)}`);
  await expect(agent.getByRole("heading", { level: 1 })).toHaveText("Why are you opening this customer?");
  problems.push(...(await auditPage(agent, "reason for access prompt")));

  await agent.getByRole("button", { name: "Open the customer" }).click();
  await expect(agent.getByText("Say why you are opening this customer", { exact: true })).toBeVisible();
  await expect(agent.getByLabel("Reason")).toHaveAttribute("aria-invalid", "true");
  problems.push(...(await auditPage(agent, "reason for access prompt with an error")));

  await agent.getByLabel("Reason").fill("Customer asked why cash-back stopped");
  await agent.getByLabel("Ticket id (optional)").fill("SUP-4242");
  await agent.getByRole("button", { name: "Open the customer" }).click();
  await expect(agent).toHaveURL(`/customers/${hash}`);
  await expect(agent.getByTestId("verdict")).toHaveAttribute("data-answer", "at-risk");

  // The timeline says why.
  await agent.getByRole("button", { name: "Staff actions" }).click();
  await expect(agent.getByText("reason for access: Customer asked why cash-back stopped (ticket SUP-4242)").first()).toBeVisible();

  // Once per customer per session: back to it, no prompt; another customer asks.
  await agent.goto("/customers");
  await agent.goto(`/customers/${hash}`);
  await expect(agent.getByTestId("verdict")).toBeVisible();
  await agent.goto(`/customers/${hashOf("demo-two-cards")}/check`);
  await expect(agent).toHaveURL(/\/access\?redirectTo=/);
  expect(problems, problems.join("\n")).toEqual([]);

  const admin = await signedIn(browser, "admin");
  await admin.goto(`/admin/audit?action=customer.view&customer=${hash}`);
  const entries = admin.getByRole("table", { name: "Audit entries" });
  await expect(entries.getByRole("row").filter({ hasText: "Viewed a customer" }).first()).toContainText("Reason for access");
  await expect(entries).toContainText("Customer asked why cash-back stopped");
  await expect(entries).toContainText("SUP-4242");
  await admin.context().close();
  await agent.context().close();
});
