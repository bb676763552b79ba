/**
 * Throttle runs a task at most once per interval per key: the first call runs at once, calls within
 * the interval after it collapse into one run at its end. It is how bursts of live events turn into
 * a bounded number of refetches (never a timer that runs on its own).
 */
export class Throttle {
  private readonly last = new Map<string, number>();
  private readonly pending = new Map<string, { run: () => void; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** schedule runs fn now or at the end of the key's interval; a later fn replaces a pending one. */
  schedule(key: string, fn: () => void): void {
    const waiting = this.pending.get(key);
    if (waiting) {
      waiting.run = fn;
      return;
    }
    const since = this.now() - (this.last.get(key) ?? -Infinity);
    if (since >= this.intervalMs) {
      this.last.set(key, this.now());
      fn();
      return;
    }
    const entry = {
      run: fn,
      timer: setTimeout(() => {
        this.pending.delete(key);
        this.last.set(key, this.now());
        entry.run();
      }, this.intervalMs - since),
    };
    this.pending.set(key, entry);
  }

  /** cancel drops every pending run. */
  cancel(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}

/**
 * Batcher collects items and hands them to flush together a moment later (one frame), so that a
 * burst of messages costs one cache update and one render instead of one each.
 */
export class Batcher<T> {
  private items: T[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly flushFn: (items: T[]) => void,
    private readonly delayMs = 16,
  ) {}

  /** add queues an item for the next flush. */
  add(item: T): void {
    this.items.push(item);
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** flush hands over what is queued now. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const items = this.items;
    this.items = [];
    if (items.length > 0) this.flushFn(items);
  }

  /** cancel drops what is queued. */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.items = [];
  }
}
