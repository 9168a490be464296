import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";

// A loopback HTTP proxy in front of the identity provider, through which the console and the test's "browser" reach
// it. It passes everything through unchanged, unless `tamperIdToken` is set: then the ID token in each token
// endpoint answer is replaced by what it returns, as an attacker on the path between console and provider would.

export type TamperingProxy = { url: string; tamperIdToken: ((idToken: string) => string | Promise<string>) | null; close: () => Promise<void> };

export async function startTamperingProxy(target: () => string): Promise<TamperingProxy> {
  const proxy: TamperingProxy = { url: "", tamperIdToken: null, close: async () => {} };
  const server = createServer((req, res) => {
    const upstream = new URL(req.url ?? "/", target());
    const out = httpRequest(upstream, { method: req.method, headers: req.headers }, (answer) => {
      const tamper = proxy.tamperIdToken;
      if (!tamper || req.method !== "POST" || upstream.pathname !== "/token") {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on("data", (c: Buffer) => chunks.push(c));
      answer.on("end", () => {
        void (async () => {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { id_token?: string };
          if (body.id_token) body.id_token = await tamper(body.id_token);
          const text = JSON.stringify(body);
          res.writeHead(answer.statusCode ?? 502, { ...answer.headers, "content-length": Buffer.byteLength(text) }).end(text);
        })();
      });
    });
    out.on("error", () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return proxy;
}
