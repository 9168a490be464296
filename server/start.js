// `npm start`: the console from its production build, with no TypeScript loader. The server code is inside the
// build (app/entry.server.tsx exports it), so this file only hands the build to it.
import * as build from "../build/server/index.js";

await build.entry.module.main(build);
