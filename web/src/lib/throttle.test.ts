import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Batcher, Throttle } from './throttle';

describe('Throttle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs the first call at once and collapses a burst into one run at the end of the interval, the last one', () => {
    const t = new Throttle(100);
    const ran: string[] = [];
    t.schedule('k', () => ran.push('first'));
    t.schedule('k', () => ran.push('second'));
    t.schedule('k', () => ran.push('third'));
    expect(ran).toEqual(['first']);
    vi.advanceTimersByTime(99);
    expect(ran).toEqual(['first']);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual(['first', 'third']);
  });

  it('keeps keys apart', () => {
    const t = new Throttle(100);
    const ran: string[] = [];
    t.schedule('a', () => ran.push('a'));
    t.schedule('b', () => ran.push('b'));
    expect(ran).toEqual(['a', 'b']);
  });

  it('runs at once again after a quiet interval', () => {
    const t = new Throttle(100);
    const ran: number[] = [];
    t.schedule('k', () => ran.push(1));
    vi.advanceTimersByTime(150);
    t.schedule('k', () => ran.push(2));
    expect(ran).toEqual([1, 2]);
  });

  it('drops pending runs on cancel', () => {
    const t = new Throttle(100);
    const ran: number[] = [];
    t.schedule('k', () => ran.push(1));
    t.schedule('k', () => ran.push(2));
    t.cancel();
    vi.advanceTimersByTime(500);
    expect(ran).toEqual([1]);
  });
});

describe('Batcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('hands a burst over in one flush after the delay', () => {
    const flushed: number[][] = [];
    const b = new Batcher<number>((items) => flushed.push(items), 16);
    b.add(1);
    b.add(2);
    b.add(3);
    expect(flushed).toEqual([]);
    vi.advanceTimersByTime(16);
    expect(flushed).toEqual([[1, 2, 3]]);
  });

  it('flushes at once on demand, and not again for nothing', () => {
    const flushed: number[][] = [];
    const b = new Batcher<number>((items) => flushed.push(items));
    b.add(1);
    b.flush();
    vi.advanceTimersByTime(100);
    b.flush();
    expect(flushed).toEqual([[1]]);
  });

  it('drops what is queued on cancel', () => {
    const flushed: number[][] = [];
    const b = new Batcher<number>((items) => flushed.push(items));
    b.add(1);
    b.cancel();
    vi.advanceTimersByTime(100);
    expect(flushed).toEqual([]);
  });
});
