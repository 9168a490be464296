import type { IncomingMessage } from "node:http";

// Every capped body is read here, from a Remix Request (the event API, the webhook route in development) or from the
// raw Node request (the webhook receiver's direct path), with one rule:
//
// - a declared Content-Length over the limit is refused at once, before a byte of the body is read;
// - a body that grows past the limit (chunked, or lying about its length) stops being kept at the limit;
// - either way the caller answers straight away (413), and the rest of the body is read and thrown away in the
//   background, so the sender receives that answer instead of a connection reset; past DRAIN_LIMIT more bytes the
//   connection is cut, so a refusal never costs more than that.

export type CappedBody = Buffer | "too-large";

/** How much of a refused body is read and discarded, after the refusal, before the connection is cut. */
export const DRAIN_LIMIT = 16 * 1024 * 1024;

const declaredOver = (value: string | null | undefined, limit: number) => value !== null && value !== undefined && value !== "" && !(Number(value) <= limit);

/** Reads a Remix request's body up to `limit` bytes. */
export async function readCappedBody(request: Request, limit: number): Promise<CappedBody> {
  const declared = request.headers.get("content-length");
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  if (declaredOver(declared, limit)) {
    void drainWeb(reader, DRAIN_LIMIT);
    return "too-large";
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      void drainWeb(reader, DRAIN_LIMIT);
      return "too-large";
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function drainWeb(reader: ReadableStreamDefaultReader<Uint8Array>, budget: number): Promise<void> {
  try {
    let left = budget;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      left -= value.byteLength;
      if (left < 0) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The sender went away: nothing left to drain.
  }
}

/** Reads a raw Node request's body up to `limit` bytes; the same rule as `readCappedBody`. */
export function readCappedNodeBody(req: IncomingMessage, limit: number): Promise<CappedBody> {
  return new Promise((resolve) => {
    const declared = req.headers["content-length"];
    if (declaredOver(declared, limit)) {
      resolve("too-large");
      drainNode(req, DRAIN_LIMIT);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData).off("end", onEnd);
        resolve("too-large");
        drainNode(req, DRAIN_LIMIT);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on("data", onData).on("end", onEnd);
    req.on("error", () => resolve("too-large"));
  });
}

function drainNode(req: IncomingMessage, budget: number): void {
  let left = budget;
  req.on("data", (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.destroy();
  });
  req.resume();
}
