import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { dismissToast, toast, useToasts } from './toast';

describe('toast', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.runOnlyPendingTimers();
    vi.useRealTimers();
  });

  it('shows toasts to subscribers and removes them after their time, errors staying longer', () => {
    const { result } = renderHook(() => useToasts());
    act(() => {
      toast.success('Saved', { title: 'Done' });
      toast.error('Broken');
    });
    expect(result.current.map((t) => [t.kind, t.message, t.title])).toEqual([
      ['success', 'Saved', 'Done'],
      ['error', 'Broken', undefined],
    ]);
    act(() => vi.advanceTimersByTime(3500));
    expect(result.current.map((t) => t.message)).toEqual(['Broken']);
    act(() => vi.advanceTimersByTime(4500));
    expect(result.current).toEqual([]);
  });

  it('keeps at most five, the newest', () => {
    const { result } = renderHook(() => useToasts());
    act(() => {
      for (let i = 1; i <= 7; i++) toast.info(`n${i}`, { durationMs: 0 });
    });
    expect(result.current.map((t) => t.message)).toEqual(['n3', 'n4', 'n5', 'n6', 'n7']);
    act(() => {
      for (const t of result.current) dismissToast(t.id);
    });
    expect(result.current).toEqual([]);
  });

  it('carries an action', () => {
    const onClick = vi.fn();
    const { result } = renderHook(() => useToasts());
    let id = 0;
    act(() => {
      id = toast.info('Deleted', { action: { label: 'Undo', onClick } });
    });
    expect(result.current.find((t) => t.id === id)?.action?.label).toBe('Undo');
    act(() => dismissToast(id));
  });
});
