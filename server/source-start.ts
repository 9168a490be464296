// The server run from source through tsx (`LINKDESK_DEV=1` for Vite): for tests that need a process of their own
// before anything is built. Production runs server/start.js on the build.
import { main } from "./main";

await main();
