import { useEffect, useState } from 'react';

/**
 * useNow returns the time in milliseconds since the epoch: read once when the component mounts and,
 * while live, again every everyMs, so that something still running can be drawn growing without
 * calling Date.now() while rendering.
 */
export function useNow(live: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!live) return;
    const tick = () => setNow(Date.now());
    const t = setInterval(tick, everyMs);
    return () => clearInterval(t);
  }, [live, everyMs]);
  return now;
}
