import { PassThrough } from "node:stream";
import type { ActionFunctionArgs, AppLoadContext, EntryContext, LoaderFunctionArgs } from "@remix-run/node";
import { createReadableStreamFromReadable } from "@remix-run/node";
import { RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { NonceContext } from "./ui/nonce";

// The production server is part of this build (server/start.js calls it), so that the routes, the webhook receiver
// and the background work share one module graph: one group-commit writer, one set of caches.
export { closeOnSignals, exitOnConfigError, main, startConsole } from "../server/main";
export { createAdmin } from "../server/create-admin-command";

const ABORT_DELAY = 5_000;

function logError(error: unknown, request: Request, context: AppLoadContext) {
  if (request.signal.aborted) return; // the browser went away: nothing failed
  if (context.log) context.log.error({ err: error }, "unexpected error while answering");
  else console.error(error);
}

/** Every error a loader or action throws (not a thrown Response) is logged once here, with its stack and request id. */
export function handleError(error: unknown, { request, context }: LoaderFunctionArgs | ActionFunctionArgs) {
  logError(error, request, context);
}

// Remix's default server entry, with one addition: every script it renders carries the request's CSP nonce, so the
// Content-Security-Policy can refuse any inline script that does not (an injected one).
export default function handleRequest(request: Request, responseStatusCode: number, responseHeaders: Headers, remixContext: EntryContext, loadContext: AppLoadContext) {
  const nonce = loadContext.cspNonce ?? "";
  const waitForAll = isbot(request.headers.get("user-agent") ?? "") || remixContext.isSpaMode;
  return new Promise<Response>((resolve, reject) => {
    let shellRendered = false;
    const ready = () => {
      shellRendered = true;
      const body = new PassThrough();
      responseHeaders.set("Content-Type", "text/html");
      resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status: responseStatusCode }));
      pipe(body);
    };
    const { pipe, abort } = renderToPipeableStream(
      <NonceContext.Provider value={nonce}>
        <RemixServer context={remixContext} url={request.url} abortDelay={ABORT_DELAY} nonce={nonce} />
      </NonceContext.Provider>,
      {
        nonce,
        ...(waitForAll ? { onAllReady: ready } : { onShellReady: ready }),
        onShellError: reject,
        onError(error: unknown) {
          responseStatusCode = 500;
          // Errors before the shell is rendered reject and are logged by handleError; later ones are logged here.
          if (shellRendered) logError(error, request, loadContext);
        },
      },
    );
    setTimeout(abort, ABORT_DELAY);
  });
}
