// The console's entry point: `npm start` (production build) and `npm run dev` (Vite in middleware mode).
import { resolve } from "node:path";
import { ConfigError, loadConfig, type Config } from "../app/config/env.server";
import { openDatabase, type Db } from "../db/open";
import { runMigrations } from "../db/migrate";
import { pruneSessions } from "../app/staff/sessions.server";
import { startHttpServer, type RunningServer } from "./app";

export type Console = RunningServer & { db: Db; config: Config };

export async function startConsole(env: NodeJS.ProcessEnv = process.env): Promise<Console> {
  const config = loadConfig(env);
  const db = openDatabase(config.databasePath);
  runMigrations(db);
  pruneSessions(db, new Date(), config.session);
  const dev = env.LINKDESK_DEV === "1";
  const running = await startHttpServer(
    config,
    db,
    dev ? { kind: "development" } : { kind: "production", buildPath: resolve("build") },
  );
  const sweep = setInterval(() => pruneSessions(db, new Date(), config.session), 10 * 60_000);
  sweep.unref();
  return {
    ...running,
    db,
    config,
    close: async () => {
      clearInterval(sweep);
      await running.close();
      db.$client.close();
    },
  };
}

export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  throw error;
}

export function closeOnSignals(close: () => Promise<void>): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void close().then(() => process.exit(0));
    });
  }
}

const isEntry = process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname);
if (isEntry) {
  try {
    const running = await startConsole();
    console.log(`Linkdesk is listening on ${running.url}`);
    closeOnSignals(running.close);
  } catch (error) {
    exitOnConfigError(error);
  }
}
