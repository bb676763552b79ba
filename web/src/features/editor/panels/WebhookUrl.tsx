import { Copy, Radio, Square } from 'lucide-react';
import { createContext, useContext } from 'react';

import { Button } from '@components/Button';
import { IconButton } from '@components/IconButton';
import { toast } from '@lib/toast';

/** TestEventListener is the editor's "Listen for test event": armed, the next webhook run is shown live on the canvas. */
export interface TestEventListener {
  /** active: the workflow's webhook triggers are on (listening turns them on first when they are not). */
  active: boolean;
  busy: boolean;
  listen: () => void;
  listening: boolean;
  stop: () => void;
}

/** TestEventContext hands the editor's listener to the webhook node's panel; the read-only views have none. */
export const TestEventContext = createContext<TestEventListener | null>(null);

/** webhookURL is the full URL of a webhook trigger with that path on this server. */
export function webhookURL(path: string, origin = window.location.origin): string {
  const clean = path.trim().replace(/^\/+|\/+$/g, '');
  return `${origin}/hooks/${clean}`;
}

/** WebhookUrl shows a webhook trigger's method and full URL with a copy button, and the listen button. */
export function WebhookUrl({ config }: { config: Record<string, unknown> }) {
  const listener = useContext(TestEventContext);
  const path = typeof config.path === 'string' ? config.path.trim() : '';
  const method = typeof config.method === 'string' && config.method ? config.method : 'POST';
  if (!path) return <p className="mb-4 text-xs text-zinc-500">Set a path to get this trigger’s URL.</p>;
  const url = webhookURL(path);
  const copy = () => {
    void navigator.clipboard
      ?.writeText(url)
      .then(() => toast.info('URL copied', { durationMs: 1500 }))
      .catch(() => toast.error('The clipboard is not available here: select the URL and copy it.'));
  };
  return (
    <section aria-label="Webhook URL" className="mb-4 rounded-lg border border-zinc-200 bg-zinc-50 p-3 dark:border-zinc-800 dark:bg-zinc-900/60">
      <div className="mb-1 text-xs font-medium text-zinc-500">Webhook URL</div>
      <div className="flex items-center gap-2">
        <span className="rounded bg-indigo-100 px-1.5 py-0.5 font-mono text-[11px] font-semibold text-indigo-700 dark:bg-indigo-950 dark:text-indigo-300">
          {method}
        </span>
        <code className="min-w-0 flex-1 truncate font-mono text-xs select-all" data-testid="webhook-url" title={url}>
          {url}
        </code>
        <IconButton label="Copy the webhook URL" onClick={copy}>
          <Copy className="size-4" />
        </IconButton>
      </div>
      {listener && (
        <div className="mt-3">
          {listener.listening ? (
            <Button icon={<Square className="size-4" />} onClick={listener.stop}>
              Stop listening
            </Button>
          ) : (
            <Button disabled={listener.busy} icon={<Radio className="size-4" />} onClick={listener.listen} variant="primary">
              {listener.active ? 'Listen for test event' : 'Activate and listen for test event'}
            </Button>
          )}
          <p className="mt-1.5 text-xs text-zinc-500">
            {listener.listening
              ? `Waiting for a ${method} request to this URL: its run shows on the canvas as it happens.`
              : 'Call the URL from outside (curl, another service) and watch the run on the canvas.'}
          </p>
        </div>
      )}
    </section>
  );
}
