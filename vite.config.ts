import { vitePlugin as remix } from "@remix-run/dev";
import { cpSync } from "node:fs";
import { defineConfig, type Plugin } from "vite";
import tsconfigPaths from "vite-tsconfig-paths";

declare module "@remix-run/node" {
  interface Future {
    v3_singleFetch: true;
  }
}

/**
 * The server is part of the server build (see app/entry.server.tsx), and db/migrate.ts finds the migrations beside
 * its own module: they are copied next to the built server, so `npm start` needs nothing but `build/`.
 */
function migrationsBesideServer(): Plugin {
  let outDir = "";
  let ssr = false;
  return {
    name: "linkdesk-migrations",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
      ssr = Boolean(config.build.ssr);
    },
    closeBundle() {
      if (ssr) cpSync("db/migrations", `${outDir}/migrations`, { recursive: true });
    },
  };
}

export default defineConfig({
  plugins: [
    migrationsBesideServer(),
    remix({
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_singleFetch: true,
        v3_lazyRouteDiscovery: true,
      },
    }),
    tsconfigPaths(),
  ],
  build: { target: "es2022" },
});
