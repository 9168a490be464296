import { startCardlyticsSimulator } from "../../simulators/cardlytics";
import { ManualClock } from "../../simulators/shared/clock";
import { FaultSet } from "../../simulators/shared/faults";
import { startPlaidSimulator } from "../../simulators/plaid/server";

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
