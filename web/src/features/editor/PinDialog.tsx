import { Pin, PinOff } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';

import { Button } from '@components/Button';
import { Dialog } from '@components/Dialog';
import { useSavePin, useUnpin } from '@hooks/use-pins';
import { formatBytes } from '@lib/format';
import { parseJsonSafe } from '@lib/json';
import { toast } from '@lib/toast';
import { ApiError, errorMessage, fieldErrors, isApiError } from '@services/http';
import type { PinFromAPI } from '@services/pins';

/** MAX_PIN_BYTES is the largest pinned value the server keeps (1 MiB of JSON). */
export const MAX_PIN_BYTES = 1 << 20;

/** PinDialogProps name the node whose output is pinned, and what the editor starts from. */
export interface PinDialogProps {
  /** initialData is what a new pin starts from (the node's output in the run on the canvas), when there is no pin. */
  initialData?: unknown;
  /** initialPort is the port initialData left by (the run's), when it is one of ports. */
  initialPort?: string;
  nodeId: string;
  /** nodeTitle is the node's title, for the dialog's title. */
  nodeTitle: string;
  onClose: () => void;
  /** pin is the node's current pin, when it has one. */
  pin?: PinFromAPI;
  /** ports are the node's output ports, in order; the first is the default. */
  ports: string[];
  workflowId: string;
}

/**
 * PinDialog edits a node's pinned output: JSON checked as you type, the output port when the node has
 * several, Save (PUT, the server's 422 shown at its field) and Unpin. Ctrl+Enter saves.
 */
export function PinDialog({ initialData, initialPort, nodeId, nodeTitle, onClose, pin, ports, workflowId }: PinDialogProps) {
  const ids = useId();
  const [text, setText] = useState(() => JSON.stringify(pin ? pin.data : (initialData ?? {}), null, 2) ?? '{}');
  const [port, setPort] = useState(pin?.port ?? (initialPort && ports.includes(initialPort) ? initialPort : ports[0]) ?? '');
  const save = useSavePin(workflowId);
  const unpin = useUnpin(workflowId);
  const parsed = text.trim() === '' ? ({ error: 'Enter the JSON value to pin, such as {} or [].', ok: false } as const) : parseJsonSafe(text);
  const bytes = new TextEncoder().encode(parsed.ok ? JSON.stringify(parsed.value) : text).length;
  const tooLarge = bytes > MAX_PIN_BYTES;
  const serverErrors = save.error instanceof ApiError && save.error.status === 422 ? fieldErrors(save.error.problem) : {};
  // What the fields below do not show goes at the top: another field's error (such as /path/nodeId,
  // a node the saved version lacks), or the problem's detail (such as the limit of 100 pins).
  const others = Object.entries(serverErrors)
    .filter(([k]) => k !== 'data' && k !== 'port')
    .map(([, m]) => m);
  const general =
    save.error && !serverErrors.data && !serverErrors.port
      ? others.length > 0
        ? others.join(' ')
        : errorMessage(save.error)
      : unpin.error && !isApiError(unpin.error, 404)
        ? errorMessage(unpin.error)
        : null;
  const busy = save.isPending || unpin.isPending;
  // The JSON takes the focus once the dialog is open: showModal (the Dialog's effect, which runs
  // first) focuses the dialog's first control, its Close button.
  const box = useRef<HTMLTextAreaElement>(null);
  useEffect(() => box.current?.focus(), []);

  const submit = () => {
    if (!parsed.ok || tooLarge || busy) return;
    save.mutate(
      { data: parsed.value, nodeId, port: ports.length > 1 || pin ? port : undefined },
      {
        onSuccess: (p) => {
          toast.success(`Output of ${nodeId} pinned (${formatBytes(p.bytes)}): test runs use it instead of running the node`);
          onClose();
        },
      },
    );
  };
  const remove = () => {
    unpin.mutate(nodeId, {
      onError: (e) => {
        // Already gone: the dialog's purpose is met.
        if (isApiError(e, 404)) onClose();
      },
      onSuccess: () => {
        toast.success(`Output of ${nodeId} unpinned: test runs run the node again`);
        onClose();
      },
    });
  };

  return (
    <Dialog
      className="w-[min(92vw,40rem)]"
      description="Test runs use the pinned output instead of running the node. Production runs never use it."
      footer={
        <>
          {pin && (
            <Button className="mr-auto" disabled={busy} icon={<PinOff className="size-4" />} onClick={remove} variant="danger">
              {unpin.isPending ? 'Unpinning…' : 'Unpin'}
            </Button>
          )}
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!parsed.ok || tooLarge || busy} icon={<Pin className="size-4" />} onClick={submit} variant="primary">
            {save.isPending ? 'Saving…' : 'Save pin'}
          </Button>
        </>
      }
      onClose={onClose}
      open
      title={`${pin ? 'Edit pinned output' : 'Pin output'} of ${nodeTitle}`}
    >
      {general && (
        <p
          className="mb-3 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
          role="alert"
        >
          {general}
        </p>
      )}
      {ports.length > 1 && (
        <div className="mb-3">
          <label className="mb-1 block text-sm font-medium" htmlFor={`${ids}-port`}>
            Output port
          </label>
          <select
            aria-describedby={serverErrors.port ? `${ids}-port-error` : undefined}
            aria-invalid={!!serverErrors.port}
            className="cm-input"
            id={`${ids}-port`}
            onChange={(e) => setPort(e.target.value)}
            value={port}
          >
            {ports.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
          {serverErrors.port && (
            <p className="mt-1 text-xs text-red-600 dark:text-red-400" id={`${ids}-port-error`}>
              {serverErrors.port}
            </p>
          )}
        </div>
      )}
      <label className="mb-1 block text-sm font-medium" htmlFor={`${ids}-data`}>
        Pinned output (JSON)
      </label>
      <textarea
        ref={box}
        aria-describedby={`${ids}-data-hint`}
        aria-invalid={!parsed.ok || tooLarge || !!serverErrors.data}
        className="cm-input h-72 font-mono text-[13px]"
        id={`${ids}-data`}
        onChange={(e) => {
          setText(e.target.value);
          // The server's verdict was on the text it was sent.
          if (save.error) save.reset();
        }}
        onKeyDown={(e) => {
          if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
            e.preventDefault();
            submit();
          }
        }}
        spellCheck={false}
        value={text}
      />
      <div aria-live="polite" className="mt-1 text-xs" id={`${ids}-data-hint`}>
        {!parsed.ok ? (
          <p className="text-red-600 dark:text-red-400" data-testid="pin-json-error">
            Not JSON: {parsed.error}
          </p>
        ) : tooLarge ? (
          <p className="text-red-600 dark:text-red-400">
            {formatBytes(bytes)}: a pin holds at most {formatBytes(MAX_PIN_BYTES)}.
          </p>
        ) : serverErrors.data ? (
          <p className="text-red-600 dark:text-red-400">{serverErrors.data}</p>
        ) : (
          <p className="text-zinc-500 dark:text-zinc-400">
            {formatBytes(bytes)} of at most {formatBytes(MAX_PIN_BYTES)}
            {ports.length > 1 ? '' : ports[0] ? ` · leaves by port ${ports[0]}` : ''}
          </p>
        )}
      </div>
    </Dialog>
  );
}
