import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { useAfterPaint } from './use-after-paint';

describe('useAfterPaint', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'cancelAnimationFrame', 'setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('returns the first value at once and a change only after the next frame has been painted', () => {
    const { rerender, result } = renderHook(({ v }) => useAfterPaint(v), { initialProps: { v: 'a' } });
    expect(result.current).toBe('a');
    rerender({ v: 'b' });
    expect(result.current).toBe('a');
    // The frame callback runs; the value follows in the task after it.
    act(() => vi.advanceTimersToNextFrame());
    expect(result.current).toBe('a');
    act(() => vi.advanceTimersByTime(1));
    expect(result.current).toBe('b');
  });

  it('skips the values a quick run of changes passes through', () => {
    const { rerender, result } = renderHook(({ v }) => useAfterPaint(v), { initialProps: { v: 1 } });
    rerender({ v: 2 });
    rerender({ v: 3 });
    act(() => {
      vi.advanceTimersToNextFrame();
      vi.advanceTimersByTime(1);
    });
    expect(result.current).toBe(3);
  });
});
