import { startTransition, useEffect, useState } from 'react';

/**
 * useAfterPaint returns value, but a change reaches the caller only after the browser has painted the
 * frame that the change's own render produced: what the user acted on shows first, and what follows
 * it (a side panel, say) renders in a transition after that. The first value is returned at once.
 */
export function useAfterPaint<T>(value: T): T {
  const [shown, setShown] = useState(value);
  useEffect(() => {
    if (Object.is(shown, value)) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // A frame callback runs before the paint; a task queued from it runs after.
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => startTransition(() => setShown(value)), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [value, shown]);
  return shown;
}
