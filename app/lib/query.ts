import type { z } from "zod";

/**
 * Reads a list page's query string against its schema. A value that fails is reported under its name and left
 * out, so one bad filter never breaks the page.
 */
export function parseQuery<S extends z.ZodType<Record<string, unknown>>>(schema: S, params: URLSearchParams, keys: readonly string[]) {
  const values: Record<string, string> = {};
  for (const key of keys) {
    const v = params.get(key);
    if (v !== null && v !== "") values[key] = v;
  }
  const errors: Record<string, string> = {};
  const clean: Record<string, string> = { ...values };
  let parsed = schema.safeParse(clean);
  while (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0]);
      errors[key] ??= issue.message;
      delete clean[key];
    }
    parsed = schema.safeParse(clean);
  }
  return { data: parsed.data as z.infer<S>, values, errors };
}
