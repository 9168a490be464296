import { invalidRequest } from "./errors";

type Kind = "string" | "number" | "boolean" | "object" | "string[]" | "array";

function matches(value: unknown, kind: Kind): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "string[]":
      return Array.isArray(value) && value.every((v) => typeof v === "string");
  }
}

const DESCRIBE: Record<Kind, string> = {
  string: "a string",
  number: "a number",
  boolean: "a boolean",
  object: "an object",
  array: "an array",
  "string[]": "an array of strings",
};

// Always allowed: credentials travel in the body or in headers.
const CREDENTIALS = new Set(["client_id", "secret"]);

/**
 * Checks a request body the way Plaid does: missing required fields, fields of the wrong type and fields the
 * endpoint does not know are each refused with Plaid's own error code. Optional fields may be null.
 */
export function readFields<R extends Record<string, Kind>, O extends Record<string, Kind>>(
  body: Record<string, unknown>,
  required: R,
  optional: O = {} as O,
): { [K in keyof R]: unknown } & { [K in keyof O]?: unknown } {
  const unknownFields = Object.keys(body).filter((k) => !(k in required) && !(k in optional) && !CREDENTIALS.has(k));
  if (unknownFields.length) {
    invalidRequest("UNKNOWN_FIELDS", `the following fields are not recognized by this endpoint: ${unknownFields.join(", ")}`);
  }
  const missing = Object.keys(required).filter((k) => body[k] === undefined || body[k] === null);
  if (missing.length) invalidRequest("MISSING_FIELDS", `the following required fields are missing: ${missing.join(", ")}`);
  for (const [key, kind] of Object.entries({ ...optional, ...required })) {
    const value = body[key];
    if (value === undefined || (value === null && key in optional)) continue;
    if (!matches(value, kind)) invalidRequest("INVALID_FIELD", `${key} must be ${DESCRIBE[kind]}`);
  }
  return body as never;
}

export const str = (v: unknown) => v as string;
export const optStr = (v: unknown) => (typeof v === "string" ? v : undefined);
