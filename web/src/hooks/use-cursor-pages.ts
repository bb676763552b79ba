import { useCallback, useState } from 'react';

/**
 * useCursorPages keeps the cursors of the pages visited so far, so that a cursor-paged list can go
 * back as well as forward. reset() returns to the first page (after a filter changes).
 */
export function useCursorPages() {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  const cursor = stack[stack.length - 1];
  const next = useCallback((c: string | null) => {
    if (c) setStack((s) => [...s, c]);
  }, []);
  const prev = useCallback(() => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)), []);
  const reset = useCallback(() => setStack([undefined]), []);
  return { cursor, next, page: stack.length, prev, reset };
}
