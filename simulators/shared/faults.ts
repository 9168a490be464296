// Fault injection shared by both simulators: per endpoint (by path) or for all ("*"), set from the environment
// (SIM_FAULTS as JSON) or at run time through POST /__sim/faults.

export type Fault = {
  /** Added before answering. */
  latencyMs?: number;
  /** Share of requests (0..1) answered with a 5xx. */
  errorRate?: number;
  /** Share of requests (0..1) answered with a 429. */
  rateLimitRate?: number;
  /** Share of requests (0..1) never answered: the connection stays open until the client gives up. */
  dropRate?: number;
  /** Cardlytics: every session token is treated as expired. */
  expireTokens?: boolean;
};

export type FaultDecision = { latencyMs: number; outcome: "ok" | "error" | "rate-limit" | "drop" };

const SHARES = ["errorRate", "rateLimitRate", "dropRate"] as const;

export class FaultSet {
  private faults = new Map<string, Fault>();

  constructor(
    initial: Record<string, Fault> = {},
    private readonly random: () => number = Math.random,
  ) {
    for (const [path, fault] of Object.entries(initial)) this.set(path, fault);
  }

  static fromEnv(value: string | undefined, random?: () => number): FaultSet {
    if (!value) return new FaultSet({}, random);
    const parsed = JSON.parse(value) as unknown;
    return new FaultSet(validateFaults(parsed), random);
  }

  set(path: string, fault: Fault): void {
    this.faults.set(path, { ...validateFault(fault) });
  }

  clear(path?: string): void {
    if (path) this.faults.delete(path);
    else this.faults.clear();
  }

  list(): Record<string, Fault> {
    return Object.fromEntries(this.faults);
  }

  /** The endpoint's own fault wins over the global one, field by field. */
  effective(path: string): Fault {
    return { ...this.faults.get("*"), ...this.faults.get(path) };
  }

  decide(path: string): FaultDecision {
    const fault = this.effective(path);
    const latencyMs = fault.latencyMs ?? 0;
    const roll = this.random();
    let edge = 0;
    for (const [key, outcome] of [
      ["dropRate", "drop"],
      ["errorRate", "error"],
      ["rateLimitRate", "rate-limit"],
    ] as const) {
      edge += fault[key] ?? 0;
      if (roll < edge) return { latencyMs, outcome };
    }
    return { latencyMs, outcome: "ok" };
  }
}

function validateFault(value: unknown): Fault {
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("A fault is an object");
  const f = value as Record<string, unknown>;
  const known = new Set(["latencyMs", "errorRate", "rateLimitRate", "dropRate", "expireTokens"]);
  for (const key of Object.keys(f)) if (!known.has(key)) throw new Error(`Unknown fault setting "${key}"`);
  if (f.latencyMs !== undefined && (typeof f.latencyMs !== "number" || f.latencyMs < 0 || f.latencyMs > 120_000)) {
    throw new Error("latencyMs is a number of milliseconds from 0 to 120000");
  }
  for (const key of SHARES) {
    const v = f[key];
    if (v !== undefined && (typeof v !== "number" || v < 0 || v > 1)) throw new Error(`${key} is a share from 0 to 1`);
  }
  if (f.expireTokens !== undefined && typeof f.expireTokens !== "boolean") throw new Error("expireTokens is true or false");
  return f as Fault;
}

export function validateFaults(value: unknown): Record<string, Fault> {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new Error('Faults are an object keyed by endpoint path or "*"');
  }
  return Object.fromEntries(Object.entries(value).map(([path, fault]) => [path, validateFault(fault)]));
}
