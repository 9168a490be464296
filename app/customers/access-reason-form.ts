import { z } from "zod";

// The reason a staff member gives before a customer opens: read by whoever reviews the audit log, so it has to say
// something (a few words at least) and stay short enough to read in a table cell.
export const ACCESS_REASON_LIMITS = { reasonMin: 5, reasonMax: 500, ticketMax: 64 } as const;

// C0 controls and DEL, except the line breaks a textarea sends.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f]/;

export const accessReasonForm = z.object({
  reason: z
    .string({ error: "Say why you are opening this customer" })
    .trim()
    .min(1, "Say why you are opening this customer")
    .min(ACCESS_REASON_LIMITS.reasonMin, `Say why in a few words (at least ${ACCESS_REASON_LIMITS.reasonMin} characters)`)
    .max(ACCESS_REASON_LIMITS.reasonMax, `Keep the reason to ${ACCESS_REASON_LIMITS.reasonMax} characters at most; put the rest in the ticket`)
    .refine((v) => !CONTROLS.test(v), "The reason cannot contain control characters"),
  ticket: z
    .string()
    .trim()
    .max(ACCESS_REASON_LIMITS.ticketMax, `A ticket id is ${ACCESS_REASON_LIMITS.ticketMax} characters at most`)
    .regex(/^[A-Za-z0-9#._:/-]*$/, "A ticket id is letters, digits and - _ # . / : only, like SUP-1234")
    .default("")
    .transform((v) => v || null),
});

export type AccessReasonInput = z.infer<typeof accessReasonForm>;

/** Where the reason is asked for, on the way to `redirectTo` (a page of this customer). */
export function accessReasonPath(customerHash: string, redirectTo?: string): string {
  return `/customers/${customerHash}/access${redirectTo ? `?${new URLSearchParams({ redirectTo })}` : ""}`;
}
