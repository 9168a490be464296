import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../app/config/env.server";
import { trustsHop } from "../app/lib/client-address.server";
import { requestIdFor, type Logger } from "../app/ops/log.server";
import type { Metrics } from "../app/ops/metrics.server";

export type Observed = { requestId: string; log: Logger; meta: { staffId?: number } };

/**
 * The server edge's part of every request: an id (a trusted proxy's X-Request-Id, else a new one) echoed in the
 * answer, a logger that carries it, and, when the answer is over, one log line (method, route, status, duration,
 * staff id) and the HTTP metrics. Only the route pattern is logged, never the path or query, which can hold ids a
 * customer typed.
 */
export function edgeObserver(config: Config, log: Logger, metrics: Metrics, routeOf: () => ((pathname: string) => string) | null) {
  const trusted = trustsHop(config.trustProxy);
  return (req: IncomingMessage, res: ServerResponse): Observed => {
    const requestId = requestIdFor(req.headers["x-request-id"], trusted(req.socket.remoteAddress ?? "", 0));
    res.setHeader("X-Request-Id", requestId);
    const child = log.child({ reqId: requestId });
    const meta: Observed["meta"] = {};
    const started = performance.now();
    res.once("close", () => {
      const ms = performance.now() - started;
      const pathname = (req.url ?? "/").split("?")[0]!;
      const route = routeOf()?.(pathname) ?? "unmatched";
      const method = req.method ?? "GET";
      const status = res.statusCode;
      metrics.httpRequests.inc({ method, route, status: String(status) });
      metrics.httpDuration.observe({ method, route }, ms / 1000);
      const line = { method, route, status, ms: Math.round(ms * 10) / 10, staffId: meta.staffId, ...(res.writableFinished ? {} : { aborted: true }) };
      if (status >= 500) child.error(line, "request failed");
      else child.info(line, "request");
    });
    return { requestId, log: child, meta };
  };
}
