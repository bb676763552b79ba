import { useQuery } from '@tanstack/react-query';
import { CalendarClock } from 'lucide-react';

import { useDebouncedValue } from '@hooks/use-debounced-value';
import { errorMessage, isApiError } from '@services/http';
import { scheduleQueries } from '@services/schedules';

/** PREVIEW_DEBOUNCE_MS is how long the expression must stay unchanged before the preview is asked for. */
export const PREVIEW_DEBOUNCE_MS = 400;

/** formatFireTime renders a fire time in the schedule's time zone, with the zone's abbreviation. */
export function formatFireTime(iso: string, timeZone: string): string {
  const at = new Date(iso);
  const options: Intl.DateTimeFormatOptions = {
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    month: 'short',
    second: '2-digit',
    timeZoneName: 'short',
    weekday: 'short',
    year: 'numeric',
  };
  try {
    return at.toLocaleString(undefined, { ...options, timeZone });
  } catch {
    // A zone the server knows and this browser does not: show UTC rather than nothing.
    return at.toLocaleString(undefined, { ...options, timeZone: 'UTC' });
  }
}

/** previewError is what a refused preview says: the problem's message about the field, else its detail. */
function previewError(err: unknown): string {
  if (isApiError(err, 422)) {
    const first = err.problem?.errors?.[0];
    if (first?.message) return first.message;
  }
  return errorMessage(err);
}

/** ScheduleTimes shows the next five fire times of a schedule trigger's configuration as it is typed, or why it cannot fire. */
export function ScheduleTimes({ config }: { config: Record<string, unknown> }) {
  const cron = typeof config.cron === 'string' ? config.cron.trim() : '';
  const timezone = typeof config.timezone === 'string' ? config.timezone.trim() : '';
  const debouncedCron = useDebouncedValue(cron, PREVIEW_DEBOUNCE_MS);
  const debouncedZone = useDebouncedValue(timezone, PREVIEW_DEBOUNCE_MS);
  const templated = debouncedCron.includes('{{') || debouncedZone.includes('{{');
  const preview = useQuery({ ...scheduleQueries.preview(debouncedCron, debouncedZone), enabled: debouncedCron !== '' && !templated });
  const zone = debouncedZone || 'UTC';
  const typing = cron !== debouncedCron || timezone !== debouncedZone;

  let body;
  if (!cron) {
    body = <p className="text-xs text-zinc-500">Write a cron expression to see when it fires.</p>;
  } else if (templated) {
    body = (
      <p className="text-xs text-red-600 dark:text-red-400" role="alert">
        A schedule cannot use {'{{ expressions }}'}: write the expression itself.
      </p>
    );
  } else if (preview.isError) {
    body = (
      <p className="text-xs text-red-600 dark:text-red-400" role="alert">
        {previewError(preview.error)}
      </p>
    );
  } else if (!preview.data) {
    body = <p className="text-xs text-zinc-500">Working out the next fire times…</p>;
  } else if (preview.data.next.length === 0) {
    body = <p className="text-xs text-zinc-500">This expression does not fire in the next five years.</p>;
  } else {
    body = (
      <ol aria-label="Next fire times" className="space-y-0.5 font-mono text-xs">
        {preview.data.next.map((at) => (
          <li key={at}>
            <time dateTime={at}>{formatFireTime(at, zone)}</time>
          </li>
        ))}
      </ol>
    );
  }
  return (
    <section
      aria-busy={typing || preview.isFetching}
      aria-label="Next fire times"
      className="mb-4 rounded-lg border border-zinc-200 bg-zinc-50 p-3 dark:border-zinc-800 dark:bg-zinc-900/60"
    >
      <div className="mb-1 flex items-center gap-1.5 text-xs font-medium text-zinc-500">
        <CalendarClock aria-hidden className="size-3.5" />
        Next fire times ({zone})
      </div>
      {body}
      <p className="mt-1.5 text-xs text-zinc-500">The schedule fires while the workflow is active.</p>
    </section>
  );
}
