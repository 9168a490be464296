import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { answerOf, MAX_WEBHOOK_BYTES, receiveDelivery } from "../app/webhooks/receive.server";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AppContext } from "../app/context";
import type { Config } from "../app/config/env.server";

function webhookFastPath(services: Pick<AppContext, "db" | "webhookKeys">, trustProxy: boolean) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = Number(req.headers["content-length"] ?? 0) > MAX_WEBHOOK_BYTES ? MAX_WEBHOOK_BYTES + 1 : 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_WEBHOOK_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      const forwarded = trustProxy ? String(req.headers["x-forwarded-for"] ?? "").split(",")[0]!.trim() : "";
      const header = (name: string) => {
        const v = req.headers[name.toLowerCase()];
        return (Array.isArray(v) ? v[0] : v) ?? null;
      };
      receiveDelivery({ db: services.db, keys: services.webhookKeys, now: () => new Date() }, { raw: size > MAX_WEBHOOK_BYTES ? "too-large" : Buffer.concat(chunks), header, clientAddress: forwarded || req.socket.remoteAddress || "unknown" }).then(
        (receipt) => {
          const answer = answerOf(receipt);
          const body = JSON.stringify(answer.body);
          res.writeHead(answer.status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
        },
        (error: unknown) => {
          console.error("webhook receiver failed", error);
          res.writeHead(500, { "content-type": "application/json" }).end('{"received":false,"error":"internal error"}');
        },
      );
    });
  };
}

export type RunningServer = { url: string; server: Server; close: () => Promise<void> };

type BuildSource = { kind: "production"; buildPath: string } | { kind: "development" };

/**
 * The HTTP front: static assets, security headers, and Remix with the context every loader and action receives.
 * The caller owns the database handle (opened and migrated before this runs) and the vendor clients.
 */
export async function startHttpServer(config: Config, services: Pick<AppContext, "db" | "cardlytics" | "plaid" | "webhookKeys">, source: BuildSource): Promise<RunningServer> {
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  app.use(compression());
  app.use((_req, res, next) => {
    res.set({
      "X-Content-Type-Options": "nosniff",
      "X-Frame-Options": "DENY",
      "Referrer-Policy": "same-origin",
      "Content-Security-Policy":
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
    });
    next();
  });

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
    build = (await import(pathToFileURL(join(source.buildPath, "server", "index.js")).href)) as ServerBuild;
  }

  app.all(
    "*",
    createRequestHandler({
      build,
      mode: source.kind,
      getLoadContext: (req): AppContext => ({
        ...services,
        config,
        clientAddress: req.ip ?? req.socket.remoteAddress ?? "unknown",
        now: () => new Date(),
      }),
    }),
  );

  // Plaid webhooks take a direct path to the receiver: no Remix request conversion, no compression, no session
  // lookup, just the raw bytes. The Remix route at the same address serves development and tests.
  const receive = webhookFastPath(services, config.trustProxy);
  const server = createServer((req, res) => {
    if (req.method === "POST" && req.url?.split("?")[0] === "/webhooks/plaid") receive(req, res);
    else app(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
