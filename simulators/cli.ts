// `npm run simulators [-- --traffic N --plaid-port P --cardlytics-port P --webhook URL]`: both simulators on
// loopback, on their own, for the console or for a publisher's own integration tests.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { startSimulators, newSimulatorCredentials } from "./index";
import { playTraffic, trafficSummary } from "./traffic";

const { values } = parseArgs({
  options: {
    traffic: { type: "string", default: "0" },
    "plaid-port": { type: "string", default: process.env.SIM_PLAID_PORT ?? "4010" },
    "cardlytics-port": { type: "string", default: process.env.SIM_CARDLYTICS_PORT ?? "4020" },
    webhook: { type: "string" },
  },
});

const count = Number(values.traffic);
if (!Number.isInteger(count) || count < 0 || count > 100_000) {
  console.error("--traffic takes a whole number of customers from 0 to 100000");
  process.exit(2);
}

const hmacKey = process.env.CUSTOMER_ID_HMAC_KEY ?? randomBytes(32).toString("base64url");
const generated = newSimulatorCredentials();
const credentials = {
  plaid: { clientId: process.env.SIM_PLAID_CLIENT_ID ?? generated.plaid.clientId, secret: process.env.SIM_PLAID_SECRET ?? generated.plaid.secret },
  cardlytics: { clientId: process.env.SIM_CARDLYTICS_CLIENT_ID ?? generated.cardlytics.clientId, secret: process.env.SIM_CARDLYTICS_SECRET ?? generated.cardlytics.secret },
};
const sims = await startSimulators({
  customerIdHmacKey: hmacKey,
  credentials,
  plaidPort: Number(values["plaid-port"]),
  cardlyticsPort: Number(values["cardlytics-port"]),
});

console.log(
  [
    `Plaid simulator:      ${sims.plaid.url}   (PLAID_CLIENT_ID=${credentials.plaid.clientId} PLAID_SECRET=${credentials.plaid.secret})`,
    `Cardlytics simulator: ${sims.cardlytics.url}   (CARDLYTICS_CLIENT_ID=${credentials.cardlytics.clientId} CARDLYTICS_SECRET=${credentials.cardlytics.secret})`,
    `Plaid client settings: ${JSON.stringify(sims.plaid.clients.get(credentials.plaid.clientId)!.settings)} (SIM_PLAID_CLIENT to change them)`,
    `Cardlytics settings: ${JSON.stringify(sims.cardlytics.settings)} (SIM_CARDLYTICS_SETTINGS to change them)`,
    `Customer ids are hashed with CUSTOMER_ID_HMAC_KEY=${process.env.CUSTOMER_ID_HMAC_KEY ? "(from the environment)" : hmacKey}`,
    "Seeded Cardlytics customers (internal id → x-source-customer-id):",
    ...sims.cardlytics.seeded.map((c) => `  ${c.rawId.padEnd(16)} ${c.hash}  ${c.description}`),
  ].join("\n"),
);

if (count > 0) {
  const outcomes = await playTraffic({
    customers: count,
    plaid: { baseUrl: sims.plaid.url, ...credentials.plaid },
    cardlytics: { baseUrl: sims.cardlytics.url, ...credentials.cardlytics },
    customerIdHmacKey: hmacKey,
    webhookUrl: values.webhook ?? null,
  });
  console.log(trafficSummary(outcomes).join("\n"));
}

process.on("SIGINT", () => void sims.close().then(() => process.exit(0)));
process.on("SIGTERM", () => void sims.close().then(() => process.exit(0)));
