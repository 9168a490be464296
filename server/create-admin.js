// `npm run create-admin`: the first-admin command from the production build, with no TypeScript loader.
import * as build from "../build/server/index.js";

process.exitCode = await build.entry.module.createAdmin(process.argv.slice(2));
