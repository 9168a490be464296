export { startCardlyticsSimulator, type CardlyticsSimulator, type CardlyticsSimulatorOptions } from "./server";
export { DEMO_CUSTOMERS, demoCustomers, hashCustomerId, seedCustomers, type SeededCustomer } from "./seed";
export { CardlyticsState, SESSION_LIFETIME_MS, type AccountStatus, type SimAccount, type SimSession } from "./state";
export type { PlaidUpstream } from "./connections";
