import type { AccountBase } from "plaid";
import { AccountType } from "plaid";

export type Institution = { institution_id: string; name: string; products: string[]; status?: "down" | "degraded" };

const DEPOSITORY_PRODUCTS = ["assets", "auth", "balance", "identity", "income_verification", "transactions", "cra_base_report", "cra_income_insights", "cra_partner_insights", "cra_cashflow_insights", "cra_network_insights", "cra_lend_score", "signal", "statements"];

// Sandbox-only institutions from Plaid's documentation.
export const INSTITUTIONS: Institution[] = [
  { institution_id: "ins_109508", name: "First Platypus Bank", products: [...DEPOSITORY_PRODUCTS, "liabilities", "investments"] },
  { institution_id: "ins_130016", name: "First Platypus Balance Bank", products: DEPOSITORY_PRODUCTS },
  { institution_id: "ins_109509", name: "First Gingham Credit Union", products: DEPOSITORY_PRODUCTS },
  { institution_id: "ins_109510", name: "Tattersall Federal Credit Union", products: DEPOSITORY_PRODUCTS },
  { institution_id: "ins_109511", name: "Tartan Bank", products: [...DEPOSITORY_PRODUCTS, "liabilities"] },
  { institution_id: "ins_109512", name: "Houndstooth Bank", products: DEPOSITORY_PRODUCTS },
  { institution_id: "ins_127287", name: "Platypus OAuth Bank", products: DEPOSITORY_PRODUCTS },
  { institution_id: "ins_132363", name: "Unhealthy Platypus - Degraded", products: DEPOSITORY_PRODUCTS, status: "degraded" },
  { institution_id: "ins_132361", name: "Unhealthy Platypus - Down", products: DEPOSITORY_PRODUCTS, status: "down" },
  { institution_id: "ins_133402", name: "Unsupported Platypus Bank", products: [] },
];

export const institutionById = (id: string) => INSTITUTIONS.find((i) => i.institution_id === id);

/** Every product value the sandbox accepts in `initial_products`. */
export const PRODUCTS = [
  "assets", "auth", "balance", "cra_base_report", "cra_income_insights", "cra_lend_score", "cra_partner_insights",
  "cra_cashflow_insights", "cra_network_insights", "cra_monitoring", "identity", "income_verification",
  "investments_auth", "investments", "liabilities", "payment_initiation", "signal", "standing_orders", "statements",
  "transactions", "transfer",
];

export type AccountTemplate = Omit<AccountBase, "account_id">;

const account = (name: string, official: string | null, mask: string, type: AccountType, subtype: string, available: number | null, current: number | null, limit: number | null = null): AccountTemplate => ({
  balances: { available, current, limit, iso_currency_code: "USD", unofficial_currency_code: null },
  mask,
  name,
  official_name: official,
  type,
  subtype: subtype as AccountBase["subtype"],
  holder_category: "personal" as AccountBase["holder_category"],
});

const GOOD_ACCOUNTS: AccountTemplate[] = [
  account("Plaid Checking", "Plaid Gold Standard 0% Interest Checking", "0000", AccountType.Depository, "checking", 100, 110),
  account("Plaid Saving", "Plaid Silver Standard 0.1% Interest Saving", "1111", AccountType.Depository, "savings", 200, 210),
  account("Plaid CD", "Plaid Bronze Standard 0.2% Interest CD", "2222", AccountType.Depository, "cd", null, 1000),
  account("Plaid Credit Card", "Plaid Diamond 12.5% APR Interest Credit Card", "3333", AccountType.Credit, "credit card", null, 410, 2000),
  account("Plaid Money Market", "Plaid Platinum Standard 1.85% Interest Money Market", "4444", AccountType.Depository, "money market", 43200, 43200),
];

/** How a test user behaves: its accounts, and what Plaid Check makes of it. */
export type Persona = {
  username: string;
  accounts: AccountTemplate[];
  /** Monthly net income the income insights report; null means too little data for income insights. */
  monthlyIncome: number | null;
  /** CRA products that fail for this user even when the report is generated. */
  craFailedProducts: string[];
};

export const PERSONAS: Record<string, Persona> = {
  user_good: { username: "user_good", accounts: GOOD_ACCOUNTS, monthlyIncome: null, craFailedProducts: ["cra_income_insights"] },
  user_bank_income: {
    username: "user_bank_income",
    accounts: [account("Plaid Checking", "Plaid Gold Standard 0% Interest Checking", "0000", AccountType.Depository, "checking", 5200, 5350), account("Plaid Saving", "Plaid Silver Standard 0.1% Interest Saving", "1111", AccountType.Depository, "savings", 12000, 12000)],
    monthlyIncome: 6250,
    craFailedProducts: [],
  },
  user_credit_profile_poor: { username: "user_credit_profile_poor", accounts: [account("Everyday Checking", null, "9602", AccountType.Depository, "checking", 45, 45), account("Rewards Card", null, "7784", AccountType.Credit, "credit card", null, 2890, 3000)], monthlyIncome: 1800, craFailedProducts: [] },
  user_credit_profile_good: { username: "user_credit_profile_good", accounts: [account("Everyday Checking", null, "4410", AccountType.Depository, "checking", 2100, 2100)], monthlyIncome: 3900, craFailedProducts: [] },
  user_credit_profile_excellent: { username: "user_credit_profile_excellent", accounts: [account("Premier Checking", null, "8821", AccountType.Depository, "checking", 18400, 18400), account("High Yield Savings", null, "8822", AccountType.Depository, "savings", 54000, 54000)], monthlyIncome: 11800, craFailedProducts: [] },
  user_credit_bonus: { username: "user_credit_bonus", accounts: [account("Checking", null, "5501", AccountType.Depository, "checking", 3600, 3600)], monthlyIncome: 7400, craFailedProducts: [] },
  user_credit_joint_account: { username: "user_credit_joint_account", accounts: [account("Joint Checking", null, "6610", AccountType.Depository, "checking", 7900, 7900)], monthlyIncome: 9100, craFailedProducts: [] },
};

/** The password each persona needs: `pass_good` for user_good, `{}` for user_bank_income, anything for the credit users. */
export function passwordAccepted(username: string, password: string): boolean {
  if (username === "user_good") return password === "pass_good";
  if (username === "user_bank_income") return password === "{}";
  return username in PERSONAS;
}
