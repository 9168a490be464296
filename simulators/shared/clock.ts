// Simulated time. The simulators never read Date.now() or call setTimeout directly, so that tests can move time
// forward (ManualClock) and the demo can run Plaid's half-hour waits in seconds (SystemClock with a speed-up).

export type Cancel = () => void;

export interface SimClock {
  /** Milliseconds since the epoch, in simulated time. */
  now(): number;
  /** Runs `fn` after `ms` of simulated time. */
  setTimeout(fn: () => void, ms: number): Cancel;
  /** Jumps simulated time forward (a report expiring, a token going stale) without waiting. */
  advance(ms: number): void;
}

export class SystemClock implements SimClock {
  private offset = 0;
  /** speedUp 60 makes a 30-second simulated wait last half a real second. */
  constructor(private readonly speedUp = 1) {}
  now(): number {
    return Date.now() + this.offset;
  }
  setTimeout(fn: () => void, ms: number): Cancel {
    const timer = setTimeout(fn, Math.max(0, ms / this.speedUp));
    timer.unref?.();
    return () => clearTimeout(timer);
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

type Timer = { at: number; seq: number; fn: () => void };

export class ManualClock implements SimClock {
  private timers: Timer[] = [];
  private seq = 0;
  constructor(private current = Date.parse("2026-11-22T12:00:00Z")) {}
  now(): number {
    return this.current;
  }
  setTimeout(fn: () => void, ms: number): Cancel {
    const timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  /** Moves time forward, running every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = target;
  }
  pendingTimers(): number {
    return this.timers.length;
  }
}
