export { startCardlyticsSimulator, type CardlyticsSimulator, type CardlyticsSimulatorOptions } from "./server";
export { hashCustomerId, type SeededCustomer } from "./seed";
