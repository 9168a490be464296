// The create-admin command run from source through tsx, for tests before anything is built; `npm run create-admin`
// runs server/create-admin.js on the build.
import { createAdmin } from "./create-admin-command";

process.exitCode = await createAdmin(process.argv.slice(2));
