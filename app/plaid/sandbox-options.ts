// The choices the mint page offers. Shared by the form and its server-side validation.

export const SANDBOX_INSTITUTIONS = [
  { id: "ins_109508", name: "First Platypus Bank" },
  { id: "ins_130016", name: "First Platypus Balance Bank" },
  { id: "ins_109509", name: "First Gingham Credit Union" },
  { id: "ins_109510", name: "Tattersall Federal Credit Union" },
  { id: "ins_109511", name: "Tartan Bank" },
  { id: "ins_109512", name: "Houndstooth Bank" },
  { id: "ins_127287", name: "Platypus OAuth Bank" },
  { id: "ins_132363", name: "Unhealthy Platypus - Degraded" },
  { id: "ins_132361", name: "Unhealthy Platypus - Down" },
] as const;

export const SANDBOX_PRODUCTS = ["transactions", "auth", "identity", "assets", "liabilities", "statements"] as const;

/** Test users: username, password, and what they are for. */
export const SANDBOX_PERSONAS = [
  { id: "user_good", username: "user_good", password: "pass_good", label: "user_good — basic accounts" },
  { id: "user_bank_income", username: "user_bank_income", password: "{}", label: "user_bank_income — many income streams" },
  { id: "user_credit_profile_poor", username: "user_credit_profile_poor", password: "any", label: "credit profile: poor" },
  { id: "user_credit_profile_good", username: "user_credit_profile_good", password: "any", label: "credit profile: good" },
  { id: "user_credit_profile_excellent", username: "user_credit_profile_excellent", password: "any", label: "credit profile: excellent" },
  { id: "error_ITEM_LOCKED", username: "user_good", password: "error_ITEM_LOCKED", label: "error: ITEM_LOCKED" },
  { id: "error_INVALID_CREDENTIALS", username: "user_good", password: "error_INVALID_CREDENTIALS", label: "error: INVALID_CREDENTIALS" },
  { id: "error_INSTITUTION_DOWN", username: "user_good", password: "error_INSTITUTION_DOWN", label: "error: INSTITUTION_DOWN" },
  { id: "error_INTERNAL_SERVER_ERROR", username: "user_good", password: "error_INTERNAL_SERVER_ERROR", label: "error: INTERNAL_SERVER_ERROR" },
] as const;

export const FIRE_WEBHOOK_CODES = ["NEW_ACCOUNTS_AVAILABLE", "PENDING_DISCONNECT", "USER_PERMISSION_REVOKED", "LOGIN_REPAIRED", "DEFAULT_UPDATE", "SYNC_UPDATES_AVAILABLE"] as const;
