import { afterAll, beforeAll, beforeEach } from "vitest";
import { startCardlyticsSimulator } from "../../simulators/cardlytics";
import { ManualClock } from "../../simulators/shared/clock";
import { FaultSet } from "../../simulators/shared/faults";
import { startPlaidSimulator } from "../../simulators/plaid/server";
import { createHarness, type Harness } from "./context";

export const SIM_CARDLYTICS = { clientId: "cdlx-test-client", secret: "cdlx-test-secret" };
export const SIM_PLAID = { clientId: "plaid-test-client", secret: "plaid-test-secret" };

/** Both simulators on loopback with a manual clock and fault sets the test can reach. */
export async function startTestSimulators(hmacKey: string) {
  const clock = new ManualClock();
  const cardlyticsFaults = new FaultSet();
  const plaidFaults = new FaultSet();
  const plaid = await startPlaidSimulator({ ...SIM_PLAID, clock, faults: plaidFaults });
  const cardlytics = await startCardlyticsSimulator({ ...SIM_CARDLYTICS, clock, faults: cardlyticsFaults, customerIdHmacKey: hmacKey, plaid: { baseUrl: plaid.url, ...SIM_PLAID } });
  return {
    clock,
    plaid,
    cardlytics,
    cardlyticsFaults,
    plaidFaults,
    hashOf: (rawId: string) => cardlytics.seeded.find((s) => s.rawId === rawId)!.hash,
    env: {
      CARDLYTICS_BASE_URL: cardlytics.url,
      CARDLYTICS_CLIENT_ID: SIM_CARDLYTICS.clientId,
      CARDLYTICS_SECRET: SIM_CARDLYTICS.secret,
      PLAID_BASE_URL: plaid.url,
      PLAID_CLIENT_ID: SIM_PLAID.clientId,
      PLAID_SECRET: SIM_PLAID.secret,
    },
    close: async () => {
      await cardlytics.close();
      await plaid.close();
    },
  };
}

export type SimulatorHarness = { sims: Awaited<ReturnType<typeof startTestSimulators>>; h: Harness };

/**
 * For a test file that drives the console against both simulators: one pair of simulators for the file, and a
 * fresh database and harness (pointed at them, faults cleared, clocks aligned) for each test.
 */
export function simulatorHarness(hmacKey: string): SimulatorHarness {
  const t = {} as SimulatorHarness;
  beforeAll(async () => {
    t.sims = await startTestSimulators(hmacKey);
  });
  afterAll(() => t.sims.close());
  beforeEach(async () => {
    t.sims.cardlyticsFaults.clear();
    t.sims.plaidFaults.clear();
    t.h = await createHarness({ ...t.sims.env, CUSTOMER_ID_HMAC_KEY: hmacKey });
    t.h.clock.current = new Date(t.sims.clock.now());
  });
  return t;
}
