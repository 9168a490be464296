import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../../app/config/env.server";

// .env.example against the code: every variable read is listed once with a comment, the value written on a line is
// the default the code applies, and the lines left uncommented are exactly those without which the server refuses to start.

type Entry = { name: string; value: string; active: boolean; described: boolean; line: number };

function readExample(): Entry[] {
  const lines = readFileSync(".env.example", "utf8").split("\n");
  const entries: Entry[] = [];
  lines.forEach((text, i) => {
    const m = /^(# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(text);
    if (!m) return;
    // Described: a comment line of prose above it, or above the run of variables it belongs to.
    let j = i - 1;
    while (j >= 0 && /^(# )?[A-Z][A-Z0-9_]*=/.test(lines[j]!)) j--;
    entries.push({ name: m[2]!, value: m[3]!, active: !m[1], described: j >= 0 && /^# \S/.test(lines[j]!) && !/^# ---/.test(lines[j]!), line: i + 1 });
  });
  return entries;
}

// Reads of the environment outside the schema: `process.env.X`, `env.X`, `env["X"]` in the console's own code.
// simulators/index.ts is included because the console runs it in-process (LINKDESK_SIMULATORS=on) with its own environment.
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}
function environmentReads(): Map<string, string> {
  const reads = new Map<string, string>();
  for (const file of [...sourceFiles("app"), ...sourceFiles("server"), ...sourceFiles("db"), "simulators/index.ts"]) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)\b|\[["']([A-Z][A-Z0-9_]*)["']\])/g)) reads.set(m[1] ?? m[2]!, file);
  }
  return reads;
}

// Without NODE_ENV, so that its default is checked too.
const SECRETS = {
  SESSION_SECRET: "s".repeat(20) + "0123456789abcdef",
  TOKEN_ENCRYPTION_KEY: "ab".repeat(32),
  CUSTOMER_ID_HMAC_KEY: "h".repeat(20) + "0123456789abcdef",
  PLAID_CLIENT_ID: "plaid-client",
  PLAID_SECRET: "plaid-secret",
  CARDLYTICS_CLIENT_ID: "cardlytics-client",
  CARDLYTICS_SECRET: "cardlytics-secret",
} as Record<string, string> as NodeJS.ProcessEnv;

describe(".env.example", () => {
  const entries = readExample();
  const names = entries.map((e) => e.name);

  it("lists every variable the configuration and the server read, once each, and nothing else", () => {
    expect(names.length).toBe(new Set(names).size);
    const read = new Set<string>([...CONFIG_VARIABLES, ...environmentReads().keys()]);
    expect({ missing: [...read].filter((n) => !names.includes(n)).sort(), unknown: names.filter((n) => !read.has(n)).sort() }).toEqual({ missing: [], unknown: [] });
  });

  it("describes each variable in a comment above it", () => {
    expect(entries.filter((e) => !e.described).map((e) => `${e.name} (line ${e.line})`)).toEqual([]);
  });

  it("writes on each commented line the default the code applies", () => {
    const written = Object.fromEntries(entries.filter((e) => e.value !== "" && (CONFIG_VARIABLES as string[]).includes(e.name)).map((e) => [e.name, e.value]));
    expect(Object.keys(written).length).toBeGreaterThan(10);
    // Each default on its own, so that a wrong one is named.
    const baseline = loadConfig(SECRETS);
    for (const [name, value] of Object.entries(written)) {
      expect(loadConfig({ ...SECRETS, [name]: value }), `${name}=${value}`).toEqual(baseline);
    }
    // And a value other than the default does change the configuration: the comparison above can fail.
    expect(loadConfig({ ...SECRETS, BACKUP_KEEP: "3" })).not.toEqual(baseline);
  });

  it("leaves uncommented exactly the variables the server cannot start without", () => {
    const active = entries.filter((e) => e.active);
    expect(active.every((e) => e.value === "")).toBe(true);
    const required = CONFIG_VARIABLES.filter((name) => {
      const env: NodeJS.ProcessEnv = { ...SECRETS };
      delete env[name];
      try {
        loadConfig(env);
        return false;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return error.problems.some((p) => p.includes(name));
      }
    });
    expect(active.map((e) => e.name).sort()).toEqual([...required].sort());
  });
});
