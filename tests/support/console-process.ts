import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/** A loopback port free at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The console as a child process, resolved once it listens; for tests that kill it with SIGKILL. */
export function startConsoleProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // One process (no tsx wrapper), so that SIGKILL hits the server itself.
    const proc = spawn(process.execPath, ["--import", "tsx", "server/source-start.ts"], { env: { ...process.env, ...env, LOG_LEVEL: env.LOG_LEVEL === "silent" || !env.LOG_LEVEL ? "info" : env.LOG_LEVEL }, stdio: ["ignore", "pipe", "pipe"] });
    const timer = setTimeout(() => reject(new Error("console did not start in 60 s")), 60_000);
    proc.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("listening on")) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on("exit", (code) => reject(new Error(`console exited with ${code}`)));
  });
}
