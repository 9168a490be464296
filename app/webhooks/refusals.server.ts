// What a refused delivery may cost us. Anyone can post to the receiver, so a refusal is kept as evidence but bounded:
// at most REFUSED_BODY_KEPT bytes of its body (its full length and SHA-256 are recorded), and at most
// REFUSALS_PER_SOURCE_PER_MINUTE stored refusals per client address a minute. Past that a refusal is still answered,
// but not stored; how many were not is added to the next one stored from that address. A verified delivery is never
// subject to either limit.

export const REFUSED_BODY_KEPT = 4096;
export const REFUSALS_PER_SOURCE_PER_MINUTE = 30;
const WINDOW_MS = 60_000;
const MAX_SOURCES = 10_000;

type Window = { start: number; stored: number; dropped: number };

export class RefusalBudget {
  private readonly sources = new Map<string, Window>();

  /** Whether to store this refusal, and how many from the same source were left unstored before it. */
  admit(source: string, nowMs: number): { store: true; droppedBefore: number } | { store: false } {
    let w = this.sources.get(source);
    if (!w || nowMs - w.start >= WINDOW_MS) {
      const droppedBefore = w?.dropped ?? 0;
      if (this.sources.size >= MAX_SOURCES) this.forgetOld(nowMs);
      w = { start: nowMs, stored: 0, dropped: 0 };
      this.sources.set(source, w);
      w.stored++;
      return { store: true, droppedBefore };
    }
    if (w.stored < REFUSALS_PER_SOURCE_PER_MINUTE) {
      w.stored++;
      return { store: true, droppedBefore: 0 };
    }
    if (w.dropped++ === 0) console.warn(JSON.stringify({ event: "webhook.refusals_not_stored", source: source.slice(0, 64), limitPerMinute: REFUSALS_PER_SOURCE_PER_MINUTE }));
    return { store: false };
  }

  private forgetOld(nowMs: number) {
    for (const [source, w] of this.sources) if (nowMs - w.start >= WINDOW_MS && w.dropped === 0) this.sources.delete(source);
    if (this.sources.size >= MAX_SOURCES) this.sources.clear();
  }
}

/** The part of a refused body that is kept, and the words that say so in its stored reason. */
export function keptOfRefused(body: Buffer): { kept: Buffer; note: string | null } {
  if (body.length <= REFUSED_BODY_KEPT) return { kept: body, note: null };
  return { kept: body.subarray(0, REFUSED_BODY_KEPT), note: `body of ${body.length} bytes; the first ${REFUSED_BODY_KEPT} kept` };
}

const budgets = new WeakMap<object, RefusalBudget>();
/** One budget per database handle (one per console). */
export function refusalBudgetFor(handle: object): RefusalBudget {
  let b = budgets.get(handle);
  if (!b) budgets.set(handle, (b = new RefusalBudget()));
  return b;
}
