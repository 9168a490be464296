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

function webhookFastPath(services: Pick<AppContext, "db" | "webhookKeys">, config: Config) {
  const trustsPeer = config.trustProxy.kind !== "none";
  return (req: IncomingMessage, res: ServerResponse) => {
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
          answer(a.status, JSON.stringify(a.body));
        },
        (error: unknown) => {
          console.error("webhook receiver failed", error);
          answer(500, '{"received":false,"error":"internal error"}');
        },
      );
    });
  };
}

export type RunningServer = { url: string; server: Server; close: () => Promise<void> };

type BuildSource = { kind: "production"; buildPath: string; build?: ServerBuild } | { kind: "development" };

/**
 * The HTTP front: static assets, security headers, and Remix with the context every loader and action receives.
 * The caller owns the database handle (opened and migrated before this runs) and the vendor clients.
 */
export async function startHttpServer(config: Config, services: Pick<AppContext, "db" | "cardlytics" | "plaid" | "webhookKeys">, source: BuildSource): Promise<RunningServer> {
  const app = express();
  app.disable("x-powered-by");
  // The same rule as clientAddressOf, so req.ip, req.secure and req.hostname believe exactly the trusted hops.
  app.set("trust proxy", trustsHop(config.trustProxy));
  app.use(headersMiddleware(config));
  app.use(originGuard(config));
  app.use(compression());

  let build: ServerBuild | (() => Promise<ServerBuild>);
  if (source.kind === "development") {
    const vite = await import("vite");
    const devServer = await vite.createServer({ server: { middlewareMode: true } });
    app.use(devServer.middlewares);
    build = () => devServer.ssrLoadModule("virtual:remix/server-build") as Promise<ServerBuild>;
  } else {
    const clientDir = join(source.buildPath, "client");
    app.use("/assets", express.static(join(clientDir, "assets"), { immutable: true, maxAge: "1y" }));
    app.use(express.static(clientDir, { maxAge: "1h" }));
    build = source.build ?? ((await import(pathToFileURL(join(source.buildPath, "server", "index.js")).href)) as ServerBuild);
  }

  app.all(
    "*",
    noStoreByDefault,
    createRequestHandler({
      build,
      mode: source.kind,
      getLoadContext: (req): AppContext => ({
        ...services,
        config,
        clientAddress: clientAddressOf(req.socket.remoteAddress, req.headers["x-forwarded-for"], config.trustProxy),
        now: () => new Date(),
        cspNonce: (req.res?.locals as { cspNonce?: string } | undefined)?.cspNonce,
      }),
    }),
  );

  // Plaid webhooks take a direct path to the receiver: no Remix request conversion, no compression, no session
  // lookup, just the raw bytes. The Remix route at the same address serves development and tests.
  const receive = webhookFastPath(services, config);
  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url?.split("?")[0] === "/webhooks/plaid") receive(req, res);
    else app(req, res);
  });
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
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
