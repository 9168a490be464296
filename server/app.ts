import { createRequestHandler } from "@remix-run/express";
import type { ServerBuild } from "@remix-run/node";
import compression from "compression";
import express from "express";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { AppContext } from "../app/context";
import type { Config } from "../app/config/env.server";

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

  const server = createServer(app);
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
