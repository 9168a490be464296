import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { answerOf, MAX_WEBHOOK_BYTES, receiveDelivery } from "../app/webhooks/receive.server";
import { readCappedNodeBody } from "../app/lib/capped-body.server";
import { clientAddressOf, trustsHop } from "../app/lib/client-address.server";
import { listenOrigins } from "../app/lib/public-origin.server";
import { headersMiddleware, isSecure, machineAnswerHeaders, noStoreByDefault, originGuard } from "./security";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AppContext } from "../app/context";
import type { Config } from "../app/config/env.server";
import type { Logger } from "../app/ops/log.server";
import type { Metrics } from "../app/ops/metrics.server";
import { timingSafeEqual } from "node:crypto";
import { edgeObserver, type Observed } from "./observe";
import { routeLabeller } from "./route-label";

export type ServerServices = Pick<AppContext, "db" | "cardlytics" | "plaid" | "webhookKeys" | "jobs"> & { log: Logger; metrics: Metrics };

function webhookFastPath(services: ServerServices, config: Config, observe: (req: IncomingMessage, res: ServerResponse) => Observed) {
  const trustsPeer = config.trustProxy.kind !== "none";
  return (req: IncomingMessage, res: ServerResponse) => {
    const { log } = observe(req, res);
    const answer = (status: number, body: string) => res.writeHead(status, { ...machineAnswerHeaders(isSecure(req, trustsPeer)), "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
    void readCappedNodeBody(req, MAX_WEBHOOK_BYTES).then((raw) => {
      const header = (name: string) => {
        const v = req.headers[name.toLowerCase()];
        return (Array.isArray(v) ? v[0] : v) ?? null;
      };
      const clientAddress = clientAddressOf(req.socket.remoteAddress, req.headers["x-forwarded-for"], config.trustProxy);
      receiveDelivery({ db: services.db, keys: services.webhookKeys, now: () => new Date() }, { raw, header, clientAddress }).then(
        (receipt) => {
          const a = answerOf(receipt);
          services.metrics.webhookDeliveries.inc({ verdict: receipt.status === 200 ? "verified" : "rejected", handling: receipt.duplicate ? "redelivery" : (receipt.handling ?? "none") });
          if (receipt.status !== 200) log.warn({ status: receipt.status, reason: receipt.reason, deliveryId: receipt.deliveryId }, "webhook refused");
          answer(a.status, JSON.stringify(a.body));
        },
        (error: unknown) => {
          log.error({ err: error }, "webhook receiver failed");
          answer(500, '{"received":false,"error":"internal error"}');
        },
      );
    });
  };
}

export type RunningServer = { url: string; server: Server; close: (deadlineMs?: number) => Promise<{ cutOff: number }> };

type BuildSource = { kind: "production"; buildPath: string; build?: ServerBuild } | { kind: "development" };

/**
 * The HTTP front: static assets, security headers, and Remix with the context every loader and action receives.
 * The caller owns the database handle (opened and migrated before this runs) and the vendor clients.
 */
export async function startHttpServer(config: Config, services: ServerServices, source: BuildSource): Promise<RunningServer> {
  const { log: logger, metrics, ...appServices } = services;
  let labelRoute: ((pathname: string) => string) | null = null;
  const observe = edgeObserver(config, logger, metrics, () => labelRoute);
  const app = express();
  // Requests not yet answered: what a shutdown waits for, and names if its deadline cuts them off.
  const open = new Set<ServerResponse>();
  const receive = webhookFastPath(services, config, observe);
  // Plaid webhooks take a direct path to the receiver: no Remix request conversion, no compression, no session
  // lookup, just the raw bytes. The Remix route at the same address serves development and tests.
  const server = createServer((req, res) => {
    open.add(res);
    res.once("close", () => open.delete(res));
    if (req.method === "POST" && req.url?.split("?")[0] === "/webhooks/plaid") receive(req, res);
    else app(req, res);
  });
  let closeDevServer: (() => Promise<void>) | null = null;
  app.disable("x-powered-by");
  app.use((req, res, next) => {
    res.locals.observed = observe(req, res);
    next();
  });
  // The same rule as clientAddressOf, so req.ip, req.secure and req.hostname believe exactly the trusted hops.
  app.set("trust proxy", trustsHop(config.trustProxy));
  app.use(headersMiddleware(config));
  app.use(originGuard(config));
  app.use(compression());

  let build: ServerBuild | (() => Promise<ServerBuild>);
  if (source.kind === "development") {
    const vite = await import("vite");
    // Hot reload rides on the console's own HTTP server, so no second port is taken (and several consoles can run).
    const devServer = await vite.createServer({ server: { middlewareMode: true, hmr: { server } } });
    closeDevServer = () => devServer.close();
    app.use(devServer.middlewares);
    // Route labels for the logs and metrics come from the route table Vite loads for Remix.
    build = async () => {
      const b = (await devServer.ssrLoadModule("virtual:remix/server-build")) as ServerBuild;
      labelRoute = routeLabeller(b.routes);
      return b;
    };
  } else {
    const clientDir = join(source.buildPath, "client");
    app.use("/assets", express.static(join(clientDir, "assets"), { immutable: true, maxAge: "1y" }));
    app.use(express.static(clientDir, { maxAge: "1h" }));
    build = source.build ?? ((await import(pathToFileURL(join(source.buildPath, "server", "index.js")).href)) as ServerBuild);
    labelRoute = routeLabeller(build.routes);
  }

  // Prometheus scrapes: only with the configured bearer token; without one, the endpoint does not exist.
  app.get("/metrics", (req, res) => {
    const expected = config.metricsToken;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    if (!expected) return void res.status(404).type("text/plain").send("Not found: set METRICS_TOKEN to turn /metrics on.");
    const ok = given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    if (!ok) return void res.status(401).set("WWW-Authenticate", 'Bearer realm="linkdesk-metrics"').type("text/plain").send("A bearer token is required (METRICS_TOKEN).");
    void metrics.registry.metrics().then(
      (text) => res.status(200).type(metrics.registry.contentType).send(text),
      (error: unknown) => {
        (res.locals.observed as Observed).log.error({ err: error }, "metrics collection failed");
        res.status(500).type("text/plain").send("metrics collection failed");
      },
    );
  });

  app.all(
    "*",
    noStoreByDefault,
    createRequestHandler({
      build,
      mode: source.kind,
      getLoadContext: (req, res): AppContext => {
        const observed = res.locals.observed as Observed;
        return {
          ...appServices,
          metrics,
          requestId: observed.requestId,
          log: observed.log,
          requestMeta: observed.meta,
          config,
          clientAddress: clientAddressOf(req.socket.remoteAddress, req.headers["x-forwarded-for"], config.trustProxy),
          now: () => new Date(),
          cspNonce: (res.locals as { cspNonce?: string }).cspNonce,
        };
      },
    }),
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  // Unconfigured, the console's public origin is where it listens (the demo, the tests); see PUBLIC_ORIGIN.
  if (!config.publicOrigins.length) config.publicOrigins.push(...listenOrigins(config.host, port));
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    server,
    close: (deadlineMs = 10_000) =>
      new Promise<{ cutOff: number }>((resolve) => {
        // Keep-alive connections go as soon as they are idle; busy ones finish their request first.
        const idle = setInterval(() => server.closeIdleConnections(), 50);
        const timer = setTimeout(() => {
          const cutOff = open.size;
          server.closeAllConnections();
          clearInterval(idle);
          resolve({ cutOff });
        }, deadlineMs);
        server.close(() => {
          clearInterval(idle);
          clearTimeout(timer);
          void (closeDevServer?.() ?? Promise.resolve()).finally(() => resolve({ cutOff: 0 }));
        });
        server.closeIdleConnections();
      }),
  };
}
