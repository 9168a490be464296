// `npm run demo`: the console on its embedded defaults, with demo staff for every role. Everything it needs
// (secrets, database, logins) is created under the data directory on first run and reused afterwards.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { openDatabase } from "../db/open";
import { runMigrations } from "../db/migrate";
import { newDemoLogins, seedDemoStaff, type DemoLogin } from "../db/seed";
import { closeOnSignals, exitOnConfigError, startConsole } from "../server/main";
import { playTraffic, trafficSummary } from "../simulators/traffic";

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
const logins = readOrCreate<DemoLogin[]>("demo-logins.json", newDemoLogins);

const env: NodeJS.ProcessEnv = {
  ...process.env,
  ...secrets,
  DATABASE_PATH: process.env.DATABASE_PATH ?? join(dataDir, "linkdesk.db"),
  LINKDESK_SIMULATORS: process.env.LINKDESK_SIMULATORS ?? "on",
  PORT: process.env.PORT ?? "3000",
};

try {
  const db = openDatabase(env.DATABASE_PATH!);
  runMigrations(db);
  await seedDemoStaff(db, logins);
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
      "",
      ...(running.simulators
        ? [
            `Plaid simulator ${running.simulators.plaid.url}, Cardlytics simulator ${running.simulators.cardlytics.url}`,
            "Seeded Cardlytics customers (internal id → hash):",
            ...running.simulators.cardlytics.seeded.map((c) => `  ${c.rawId.padEnd(16)} ${c.hash}  ${c.description}`),
          ]
        : []),
      "",
      "Stop with Ctrl+C.",
    ].join("\n"),
  );
  const trafficCount = Number(process.env.DEMO_TRAFFIC ?? 40);
  if (running.simulators && trafficCount > 0) {
    const sims = running.simulators;
    const outcomes = await playTraffic({
      customers: trafficCount,
      plaid: { baseUrl: sims.plaid.url, ...sims.credentials.plaid },
      cardlytics: { baseUrl: sims.cardlytics.url, ...sims.credentials.cardlytics },
      customerIdHmacKey: running.config.customerIdHmacKey,
      webhookUrl: running.config.plaid.webhookUrl ?? null,
    });
    console.log(["", ...trafficSummary(outcomes)].join("\n"));
  }
} catch (error) {
  exitOnConfigError(error);
}
