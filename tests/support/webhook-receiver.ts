import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export type Received = { body: Buffer; headers: IncomingHttpHeaders; json: Record<string, unknown> };

/** A real HTTP endpoint that records what is POSTed to it and answers with the next queued status (200 by default). */
export async function startWebhookReceiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      received.push({ body, headers: req.headers, json: JSON.parse(body.toString("utf8")) as Record<string, unknown> });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/plaid`;
  return {
    url,
    received,
    /** Answer the next N deliveries with these statuses, in order. */
    answerNext: (...codes: number[]) => statuses.push(...codes),
    byCode: (code: string) => received.filter((r) => r.json.webhook_code === code),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
