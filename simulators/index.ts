import { randomBytes } from "node:crypto";
import { SystemClock, type SimClock } from "./shared/clock";
import { FaultSet } from "./shared/faults";
import { readClientSettings, startPlaidSimulator, type PlaidSimulator } from "./plaid/server";
import { startCardlyticsSimulator } from "./cardlytics/server";
import { readCardlyticsSettings } from "./cardlytics/state";

export type SimulatorCredentials = {
  plaid: { clientId: string; secret: string };
  cardlytics: { clientId: string; secret: string };
};

export type RunningSimulators = {
  plaid: PlaidSimulator;
  cardlytics: Awaited<ReturnType<typeof startCardlyticsSimulator>>;
  credentials: SimulatorCredentials;
  clock: SimClock;
  close: () => Promise<void>;
};

export function newSimulatorCredentials(): SimulatorCredentials {
  return {
    plaid: { clientId: `sim-${randomBytes(12).toString("hex")}`, secret: randomBytes(15).toString("hex") },
    cardlytics: { clientId: `sim-${randomBytes(8).toString("hex")}`, secret: randomBytes(24).toString("base64url") },
  };
}

/**
 * Both simulators on loopback. Cardlytics checks processor tokens against this Plaid simulator, as the real
 * Cardlytics checks them against Plaid. Faults come from SIM_PLAID_FAULTS / SIM_CARDLYTICS_FAULTS (JSON); the Plaid
 * client's Dashboard-side settings from SIM_PLAID_CLIENT (JSON, e.g. {"userApi":"new"}); Cardlytics' undocumented
 * behaviours from SIM_CARDLYTICS_SETTINGS (JSON, e.g. {"otherCustomerToken":403}).
 */
export async function startSimulators(options: {
  customerIdHmacKey: string;
  credentials?: SimulatorCredentials;
  plaidPort?: number;
  cardlyticsPort?: number;
  host?: string;
  clock?: SimClock;
  reportDelayMs?: number;
  env?: NodeJS.ProcessEnv;
}): Promise<RunningSimulators> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? new SystemClock(Number(env.SIM_SPEED_UP ?? 1));
  const credentials = options.credentials ?? newSimulatorCredentials();
  const plaid = await startPlaidSimulator({
    port: options.plaidPort ?? 0,
    host: options.host,
    clock,
    faults: FaultSet.fromEnv(env.SIM_PLAID_FAULTS),
    ...credentials.plaid,
    client: env.SIM_PLAID_CLIENT ? readClientSettings(JSON.parse(env.SIM_PLAID_CLIENT)) : undefined,
    settings: options.reportDelayMs === undefined ? undefined : { reportDelayMs: options.reportDelayMs },
  });
  const cardlytics = await startCardlyticsSimulator({
    port: options.cardlyticsPort ?? 0,
    host: options.host,
    clock,
    faults: FaultSet.fromEnv(env.SIM_CARDLYTICS_FAULTS),
    ...credentials.cardlytics,
    customerIdHmacKey: options.customerIdHmacKey,
    plaid: { baseUrl: plaid.url, ...credentials.plaid },
    settings: env.SIM_CARDLYTICS_SETTINGS ? readCardlyticsSettings(JSON.parse(env.SIM_CARDLYTICS_SETTINGS)) : undefined,
  });
  return {
    plaid,
    cardlytics,
    credentials,
    clock,
    close: async () => {
      await cardlytics.close();
      await plaid.close();
    },
  };
}
