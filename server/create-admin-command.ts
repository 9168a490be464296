// `npm run create-admin -- --email you@example.com [--name "Your Name"] [--force]`: the first admin of a deployment.
// Part of the build (app/entry.server.tsx exports it; server/create-admin.js runs it with plain node).
// It opens the database at DATABASE_PATH (applying the migrations, so it works before the console's first start),
// creates the account with a one-time password printed once, and exits. The password must be changed at first sign-in.
import { hostname, userInfo } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError, databasePathFrom } from "../app/config/env.server";
import { createFirstAdmin, FirstAdminRefused } from "../app/staff/first-admin.server";
import { runMigrations } from "../db/migrate";
import { openDatabase } from "../db/open";

const USAGE = 'Usage: npm run create-admin -- --email you@example.com [--name "Your Name"] [--force]';

function ranBy(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry for this uid (some containers).
  }
  return `command line: ${user}@${hostname()}`.slice(0, 100);
}

export async function createAdmin(args: string[]): Promise<number> {
  let values: { email?: string; name?: string; force?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ options: { email: { type: "string" }, name: { type: "string" }, force: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } }, strict: true, args }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 64;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.email) {
    console.error(`--email is required.\n${USAGE}`);
    return 64;
  }
  let path: string;
  try {
    path = databasePathFrom();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 78;
    }
    throw error;
  }
  const db = openDatabase(path);
  try {
    runMigrations(db);
    const created = await createFirstAdmin(db, { email: values.email, name: values.name, force: values.force ?? false }, { ranBy: ranBy(), now: new Date() });
    console.log(
      [
        `${created.replaced ? "Restored admin" : "Created admin"} ${created.email} in ${path}.`,
        `One-time password: ${created.oneTimePassword}`,
        "Sign in with it at the console's /login; you will be asked to choose your own password before anything else.",
        "It is shown only now and is not stored anywhere but as a hash.",
      ].join("\n"),
    );
    return 0;
  } catch (error) {
    if (error instanceof FirstAdminRefused) {
      console.error(error.message);
      return 1;
    }
    throw error;
  } finally {
    db.$client.close();
  }
}
