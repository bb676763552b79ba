import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { useNow } from './use-now';

describe('useNow', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
  });
  afterEach(() => vi.useRealTimers());

  it.each([
    { live: true, want: Date.parse('2026-01-01T00:00:03Z') },
    { live: false, want: Date.parse('2026-01-01T00:00:00Z') },
  ])('live=$live after 3 s reads $want', ({ live, want }) => {
    const { result } = renderHook(() => useNow(live));
    expect(result.current).toBe(Date.parse('2026-01-01T00:00:00Z'));
    act(() => vi.advanceTimersByTime(3000));
    expect(result.current).toBe(want);
  });

  it('stops ticking when it is no longer live', () => {
    const { rerender, result } = renderHook(({ live }) => useNow(live, 500), { initialProps: { live: true } });
    act(() => vi.advanceTimersByTime(1000));
    const at = result.current;
    rerender({ live: false });
    act(() => vi.advanceTimersByTime(5000));
    expect(result.current).toBe(at);
  });
});
