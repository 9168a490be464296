import { z } from "zod";

// The identity Plaid Check needs, checked here before anything is sent: Plaid refuses bad data with a 403.
const US_STATES = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR".split(" ");

const required = (label: string, max = 100) => z.string().trim().min(1, `Enter the ${label}`).max(max, `The ${label} is at most ${max} characters`);

export const identityForm = z.object({
  givenName: required("given name"),
  familyName: required("family name"),
  dateOfBirth: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "Use a date like 1988-07-22")
    .refine((v) => {
      const age = (Date.now() - Date.parse(`${v}T00:00:00Z`)) / (365.25 * 86_400_000);
      return age >= 18 && age <= 120;
    }, "The customer must be between 18 and 120 years old"),
  phone: z
    .string()
    .trim()
    .regex(/^\+1[2-9]\d{2}[2-9]\d{6}$|^\+(?!1)[2-9]\d{7,14}$/, "Use E.164, like +14155550123 (a real area code and exchange)"),
  email: z.email("Enter a valid email address"),
  street: required("street"),
  city: required("city"),
  region: z.enum(US_STATES, { error: "Use a two-letter US state code, like CA" }),
  postalCode: z.string().trim().regex(/^\d{5}(-\d{4})?$/, "Use a US ZIP code, like 94103 or 94103-1234"),
});

export type IdentityInput = z.infer<typeof identityForm>;

export const PERMISSIBLE_PURPOSES = [
  "ACCOUNT_REVIEW_CREDIT",
  "ACCOUNT_REVIEW_NON_CREDIT",
  "EXTENSION_OF_CREDIT",
  "LEGITIMATE_BUSINESS_NEED_TENANT_SCREENING",
  "LEGITIMATE_BUSINESS_NEED_OTHER",
  "WRITTEN_INSTRUCTION_PREQUALIFICATION",
  "WRITTEN_INSTRUCTION_OTHER",
  "ELIGIBILITY_FOR_GOVT_BENEFITS",
] as const;

export const REPORT_PRODUCTS = ["cra_income_insights", "cra_partner_insights", "cra_cashflow_insights"] as const;

export const regenerationForm = z.object({
  reason: z.string().trim().min(5, "Say why the report is needed (at least 5 characters)").max(500, "Keep the reason under 500 characters"),
  purpose: z.enum(PERMISSIBLE_PURPOSES, { error: "Choose a permissible purpose" }),
  daysRequested: z.coerce.number({ error: "Days requested is a number" }).int("Days requested is a whole number").min(180, "Plaid needs at least 180 days").max(731, "Plaid allows at most 731 days"),
  products: z.string().transform((v) => v.split(",").filter(Boolean)).pipe(z.array(z.enum(REPORT_PRODUCTS, { error: "Choose products from the list" }))),
  billable: z.literal("yes", { error: "Confirm that you understand the request is billable" }),
});

/** The settings of a bulk regeneration: those of a single one; the list itself is read by `parseHashList`. */
export const bulkRegenerationForm = regenerationForm.extend({
  billable: z.literal("yes", { error: "Confirm that you understand every queued line is a billable request" }),
});
