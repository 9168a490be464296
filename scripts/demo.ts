// `npm run demo`: the console on its embedded defaults, with demo staff for every role. Everything it needs
// (secrets, database, logins) is created under the data directory on first run and reused afterwards.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { openDatabase } from "../db/open";
import { runMigrations } from "../db/migrate";
import { newDemoLogins, seedDemoStaff, type DemoLogin } from "../db/seed";
import { pathToFileURL } from "node:url";
import type * as ServerMain from "../server/main";
import { eq } from "drizzle-orm";
import { createApiKey } from "../app/funnel/api-keys.server";
import { apiKeys, staffUsers } from "../db/schema";
import { saveAuthSettings } from "../app/staff/auth-settings.server";
import { hashCustomerId } from "../simulators/cardlytics/seed";
import { historicalJourneys, postFunnelEvents } from "../simulators/funnel-history";
import { playTraffic, trafficSummary } from "../simulators/traffic";
import { mappedRole as mappedRoleOf } from "../app/staff/sso.server";

type ServerModule = typeof ServerMain;
// Outside development the console runs from its production build, as `npm start` does, so the demo exercises the
// same single module graph; in development Vite serves the app and the server runs from source.
const server: ServerModule =
  process.env.LINKDESK_DEV === "1" ? await import("../server/main") : ((await import(pathToFileURL(resolve("build/server/index.js")).href)) as { entry: { module: ServerModule } }).entry.module;
const { closeOnSignals, exitOnConfigError, startConsole } = server;

const dataDir = resolve(process.env.LINKDESK_DATA_DIR ?? "data");
if (process.argv.includes("--fresh")) rmSync(dataDir, { recursive: true, force: true });
mkdirSync(dataDir, { recursive: true });

function readOrCreate<T>(file: string, create: () => T): T {
  const path = join(dataDir, file);
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as T;
  const value = create();
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  return value;
}

const secrets = readOrCreate("secrets.json", () => ({
  SESSION_SECRET: randomBytes(32).toString("base64url"),
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
  CUSTOMER_ID_HMAC_KEY: randomBytes(32).toString("base64url"),
}));
// A data directory made now gets the demo's sign-in policy (below); one kept from an earlier run keeps whatever its
// administrator set since.
const freshData = !existsSync(join(dataDir, "demo-logins.json"));
const logins = readOrCreate<DemoLogin[]>("demo-logins.json", newDemoLogins);

const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...secrets,
  DATABASE_PATH: process.env.DATABASE_PATH ?? join(dataDir, "linkdesk.db"),
  LINKDESK_SIMULATORS: process.env.LINKDESK_SIMULATORS ?? "on",
  // The demo's terminal shows its banner and summaries; request lines would bury them. LOG_LEVEL=info shows them.
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  // Production asks for a reason before a customer opens; the demo, whose customers are all made up, does not.
  REQUIRE_ACCESS_REASON: process.env.REQUIRE_ACCESS_REASON ?? "off",
  PORT: process.env.PORT ?? "3000",
};

try {
  const db = openDatabase(env.DATABASE_PATH!);
  runMigrations(db);
  await seedDemoStaff(db, logins);
  // Every role can try the demo with its printed password alone; an administrator turns the production default
  // (admins and ops must use a second factor) back on at /admin/security.
  if (freshData) saveAuthSettings(db, { mfaRequiredRoles: [], ssoRequired: false, breakGlassStaffId: null }, { by: null, now: new Date() });
  // The demo publisher's backend reports funnel events and registers what it creates for its customers with a key
  // of its own, made once by the demo admin (a key kept from an earlier demo is given the customer-data scope too).
  const apiKey = readOrCreate("demo-api-key.json", () => {
    const admin = db.select().from(staffUsers).where(eq(staffUsers.role, "admin")).get()!;
    return { key: createApiKey(db, "Demo publisher backend", { actor: { id: admin.id, email: admin.email, role: "admin" }, clientAddress: "127.0.0.1", now: new Date() }, ["events", "customer_data"]).secret };
  }).key;
  db.update(apiKeys).set({ scopes: ["events", "customer_data"] }).where(eq(apiKeys.prefix, apiKey.slice(0, 12))).run();
  db.$client.close();
  const running = await startConsole(env);
  closeOnSignals(running.close);
  const width = Math.max(...logins.map((l) => l.email.length));
  console.log(
    [
      "",
      `Linkdesk demo is running at ${running.url}`,
      `Data (database, secrets, logins): ${dataDir}`,
      "",
      "Sign in as:",
      ...logins.map((l) => `  ${l.role.padEnd(8)} ${l.email.padEnd(width)}  ${l.password}`),
      "Second factors are optional in the demo; an administrator can require them per role at /admin/security.",
      "",
      ...(running.identityProvider
        ? [
            `Or "Sign in with SSO" through the local identity provider (${running.identityProvider.url}); an account is made on first sign-in:`,
            ...running.identityProvider.identities.map((i) => {
              const role = running.config.oidc ? mappedRoleOf(i.groups, running.config.oidc.roleMap) : null;
              return `  ${i.username.padEnd(6)} ${i.password.padEnd(14)} groups ${i.groups.join(", ")} → ${role ?? "no role (refused)"}`;
            }),
            "",
          ]
        : []),
      ...(running.simulators
        ? [
            `Plaid simulator ${running.simulators.plaid.url}, Cardlytics simulator ${running.simulators.cardlytics.url}`,
            "Seeded Cardlytics customers (internal id → hash):",
            ...running.simulators.cardlytics.seeded.map((c) => `  ${c.rawId.padEnd(16)} ${c.hash}  ${c.description}`),
          ]
        : []),
      `API key of the demo publisher backend (POST ${running.url}/api/events and /api/customer-data): ${apiKey}`,
      "",
      "Stop with Ctrl+C.",
    ].join("\n"),
  );
  // Ninety days of past linking journeys, so the funnel has history; event ids are fixed, so a restart adds nothing.
  const historyCount = Number(process.env.DEMO_FUNNEL_HISTORY ?? 3000);
  if (historyCount > 0) {
    const events = [...historicalJourneys({ customers: historyCount, days: 90, now: Date.now(), hashOf: (i) => hashCustomerId(`hist-${String(i + 1).padStart(6, "0")}`, running.config.customerIdHmacKey) })].flat();
    const posted = await postFunnelEvents(running.url, apiKey, events);
    console.log(`Funnel history: ${historyCount} customers over 90 days, ${posted.accepted} events accepted (${posted.duplicates} already there).`);
  }
  const trafficCount = Number(process.env.DEMO_TRAFFIC ?? 40);
  if (running.simulators && trafficCount > 0) {
    const sims = running.simulators;
    const outcomes = await playTraffic({
      customers: trafficCount,
      plaid: { baseUrl: sims.plaid.url, ...sims.credentials.plaid },
      cardlytics: { baseUrl: sims.cardlytics.url, ...sims.credentials.cardlytics },
      customerIdHmacKey: running.config.customerIdHmacKey,
      webhookUrl: running.config.plaid.webhookUrl ?? null,
      events: { baseUrl: running.url, apiKey },
    });
    // Kept beside the logins, so whoever tries the demo (and its browser tests) can find the traffic's customers.
    writeFileSync(join(dataDir, "demo-traffic.json"), `${JSON.stringify(outcomes, null, 2)}\n`, { mode: 0o600 });
    console.log(["", ...trafficSummary(outcomes)].join("\n"));
  }
} catch (error) {
  exitOnConfigError(error);
}
