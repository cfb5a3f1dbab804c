/**
 * A vendor's "at most `cap` calls per rolling `windowMs`", kept the way the vendor counts: from when a call
 * arrives. The client never sees arrivals, but a call has arrived by the time its response is back, so a slot
 * is held from before the call is sent until `windowMs` after its response. No span of `windowMs` can then
 * hold more than `cap` arrivals whatever the network's latency, and each window costs one call's latency
 * instead of a guessed margin. Slots are handed out first come, first served.
 */
export interface RollingWindow {
  /** Waits for `slots` free slots (a call that costs several units takes several); rejects if `signal` aborts. */
  acquire(slots: number, signal: AbortSignal): Promise<void>;
  /** The call is answered: its slots free up `windowMs` from now. */
  release(slots: number): void;
  close(): void;
}

export function createRollingWindow(cap: number, windowMs: number): RollingWindow {
  let held = 0;
  const waiting: { slots: number; admit: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const admitWaiting = () => {
    while (waiting.length > 0 && held + waiting[0]!.slots <= cap) {
      const next = waiting.shift()!;
      held += next.slots;
      next.admit();
    }
  };
  return {
    acquire(requested, signal) {
      // A call costing more than the whole window still goes, alone.
      const slots = Math.min(Math.max(1, requested), cap);
      if (signal.aborted) return Promise.reject(signal.reason);
      if (waiting.length === 0 && held + slots <= cap) {
        held += slots;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const i = waiting.indexOf(entry);
          if (i >= 0) waiting.splice(i, 1);
          admitWaiting();
          reject(signal.reason);
        };
        const entry = {
          slots,
          admit: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiting.push(entry);
      });
    },
    release(requested) {
      const slots = Math.min(Math.max(1, requested), cap);
      const freeAt = performance.now() + windowMs;
      // Timers may fire a fraction of a millisecond early by the clock: the slot frees only once it is due.
      const arm = (ms: number) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          const left = freeAt - performance.now();
          if (left > 0) return arm(Math.ceil(left));
          held -= slots;
          admitWaiting();
        }, ms);
        timer.unref();
        timers.add(timer);
      };
      arm(windowMs);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      waiting.length = 0;
    },
  };
}
