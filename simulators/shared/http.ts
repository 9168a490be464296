import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type FaultSet, validateFaults, type FaultDecision } from "./faults";
import type { SimClock } from "./clock";

export type SimRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
};

export type SimResponse = { status: number; body?: unknown; headers?: Record<string, string> };

export type RunningSim = { url: string; server: Server; close: () => Promise<void> };

const MAX_BODY = 1024 * 1024;

export function header(req: SimRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A small HTTP server for a simulator. `/__sim/*` is the control surface (faults, clock); everything else goes
 * through fault injection first and then to the vendor's handler. A handler that throws answers 500, never crashes.
 */
export async function startSimServer(options: {
  port: number;
  host?: string;
  faults: FaultSet;
  clock: SimClock;
  handle: (req: SimRequest) => Promise<SimResponse> | SimResponse;
  control?: (req: SimRequest) => Promise<SimResponse | undefined> | SimResponse | undefined;
  faultResponse: (decision: FaultDecision, req: SimRequest) => SimResponse;
}): Promise<RunningSim> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://simulator.invalid");
      const simReq: SimRequest = {
        method: (req.method ?? "GET").toUpperCase(),
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        rawBody: Buffer.concat(chunks),
      };
      void respond(simReq, size > MAX_BODY).then(
        (out) => {
          if (out === "drop") return; // hold the connection open: the client sees no answer at all
          const headers: Record<string, string> = { ...out.headers };
          let payload: string | undefined;
          if (out.body !== undefined) {
            payload = typeof out.body === "string" ? out.body : JSON.stringify(out.body);
            headers["content-type"] ??= "application/json; charset=utf-8";
          }
          res.writeHead(out.status, headers);
          res.end(payload);
        },
        (error: unknown) => {
          console.error("simulator handler failed", error);
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: "simulator error" }));
        },
      );
    });
  });

  async function respond(req: SimRequest, tooLarge: boolean): Promise<SimResponse | "drop"> {
    if (req.path.startsWith("/__sim/")) {
      const common = commonControl(req, options.faults, options.clock);
      if (common) return common;
      const own = await options.control?.(req);
      return own ?? { status: 404, body: { error: `no control endpoint ${req.path}` } };
    }
    if (tooLarge) return { status: 413, body: { error: "request body over 1 MB" } };
    const decision = options.faults.decide(req.path);
    if (decision.latencyMs) await new Promise((r) => setTimeout(r, decision.latencyMs));
    if (decision.outcome === "drop") return "drop";
    if (decision.outcome !== "ok") return options.faultResponse(decision, req);
    return options.handle(req);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function commonControl(req: SimRequest, faults: FaultSet, clock: SimClock): SimResponse | undefined {
  if (req.path === "/__sim/faults") {
    if (req.method === "GET") return { status: 200, body: faults.list() };
    if (req.method === "DELETE") {
      faults.clear(req.query.get("path") ?? undefined);
      return { status: 200, body: faults.list() };
    }
    if (req.method === "POST") {
      try {
        for (const [path, fault] of Object.entries(validateFaults(JSON.parse(req.rawBody.toString("utf8") || "{}")))) {
          faults.set(path, fault);
        }
        return { status: 200, body: faults.list() };
      } catch (error) {
        return { status: 400, body: { error: (error as Error).message } };
      }
    }
  }
  if (req.path === "/__sim/clock") {
    if (req.method === "GET") return { status: 200, body: { now: new Date(clock.now()).toISOString() } };
    if (req.method === "POST") {
      const parsed = safeJson(req.rawBody) as { advanceMs?: unknown } | undefined;
      const ms = parsed?.advanceMs;
      if (typeof ms !== "number" || ms < 0 || !Number.isFinite(ms)) {
        return { status: 400, body: { error: "send {\"advanceMs\": <milliseconds, 0 or more>}" } };
      }
      clock.advance(ms);
      return { status: 200, body: { now: new Date(clock.now()).toISOString() } };
    }
  }
  return undefined;
}

export function safeJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    return undefined;
  }
}
