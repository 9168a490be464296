import { afterEach, beforeEach, vi } from "vitest";

// An error logged during a test is a failure of that test, not noise.
let logged: unknown[][] = [];
beforeEach(() => {
  logged = [];
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
    logged.push(args);
  });
});
afterEach(() => {
  vi.mocked(console.error).mockRestore();
  if (logged.length) throw new Error(`console.error was called during the test:\n${logged.map((a) => a.map(String).join(" ")).join("\n")}`);
});
