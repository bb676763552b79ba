/** formatDuration renders milliseconds compactly: 850 ms, 1.2 s, 3 m 5 s. */
export function formatDuration(ms: number | undefined | null): string {
  if (ms == null || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} m ${s} s`;
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/** formatRelative renders an ISO time relative to now ("3 minutes ago"). */
export function formatRelative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const diff = new Date(iso).getTime() - now;
  const abs = Math.abs(diff);
  if (abs < 45_000) return 'just now';
  if (abs < 3_600_000) return rtf.format(Math.round(diff / 60_000), 'minute');
  if (abs < 86_400_000) return rtf.format(Math.round(diff / 3_600_000), 'hour');
  return rtf.format(Math.round(diff / 86_400_000), 'day');
}

/** formatDateTime renders an ISO time in the user's locale. */
export function formatDateTime(iso: string | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString();
}

/** shortId keeps the tail of a UUID, which is the part that differs between ids made close in time. */
export function shortId(id: string): string {
  return id.length > 8 ? id.slice(-8) : id;
}

/** formatBytes renders a size in bytes: 812 B, 4.0 KiB, 6.7 MiB. */
export function formatBytes(n: number | undefined | null): string {
  if (n == null || Number.isNaN(n)) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(1)} GiB`;
}
