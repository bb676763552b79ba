import clsx from 'clsx';

import { useLiveClient, useLiveStatus } from '@hooks/use-live';
import type { LiveStatus } from '@services/live';

const TEXT: Record<LiveStatus['state'], { dot: string; label: string; long: string }> = {
  connecting: { dot: 'bg-zinc-400 animate-pulse', label: 'Connecting…', long: 'Live updates: connecting' },
  'fallback-sse': { dot: 'bg-emerald-500', label: 'Live (SSE)', long: 'Live updates: connected through Server-Sent Events (the WebSocket is unavailable)' },
  live: { dot: 'bg-emerald-500', label: 'Live', long: 'Live updates: connected' },
  offline: { dot: 'bg-zinc-500', label: 'Offline', long: 'Live updates: offline; they resume when the network is back' },
  reconnecting: { dot: 'bg-amber-400 animate-pulse', label: 'Reconnecting…', long: 'Live updates: connection lost, reconnecting' },
};

/** LiveIndicator shows the state of the live connection: a dot and a word, and the whole sentence for screen readers. */
export function LiveIndicator() {
  const status = useLiveStatus();
  const client = useLiveClient();
  const t = TEXT[status.state];
  const next = status.state === 'reconnecting' ? ` (next attempt at ${new Date(status.nextAttemptAt).toLocaleTimeString()}; click to retry now)` : '';
  const body = (
    <>
      <span aria-hidden className={clsx('size-2 shrink-0 rounded-full', t.dot)} />
      <span aria-hidden className="text-center">
        {t.label}
      </span>
    </>
  );
  const className = 'flex w-16 flex-col items-center gap-1 rounded-lg px-1 py-1.5 text-[10px] leading-tight font-medium text-zinc-400';
  return (
    <div data-live-state={status.state} data-testid="live-indicator">
      {status.state === 'reconnecting' ? (
        <button className={clsx(className, 'hover:bg-zinc-800 hover:text-white')} onClick={() => client.reconnectNow()} title={t.long + next} type="button">
          {body}
          <span className="sr-only">{t.long}. Reconnect now</span>
        </button>
      ) : (
        <div className={className} title={t.long}>
          {body}
        </div>
      )}
      <span aria-live="polite" className="sr-only" role="status">
        {t.long}
      </span>
    </div>
  );
}
