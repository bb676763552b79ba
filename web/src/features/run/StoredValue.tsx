import { useQuery } from '@tanstack/react-query';
import { Download } from 'lucide-react';
import { useState } from 'react';

import { Button } from '@components/Button';
import { JsonViewer } from '@components/JsonViewer';
import { formatBytes } from '@lib/format';
import { executionQueries, valuePath, type StoredValueData, type ValueRef } from '@services/executions';
import { errorMessage } from '@services/http';

/** StoredValueProps describe one value of an execution or a node run. */
export interface StoredValueProps {
  /** empty is what to say when there is no value. */
  empty: string;
  expandDepth?: number;
  label: string;
  stored: StoredValueData;
  valueRef: ValueRef;
}

const utf8 = new TextEncoder();

/**
 * StoredValue shows a value whole when the execution read sent it whole. A larger value came as the
 * head of its JSON text: that is shown as text, with its size, a button that loads the whole value
 * and a download link.
 */
export function StoredValue({ empty, expandDepth, label, stored, valueRef }: StoredValueProps) {
  const [load, setLoad] = useState(false);
  const full = useQuery({ ...executionQueries.value(valueRef), enabled: load && stored.truncated });
  if (!stored.truncated) {
    if (stored.value === undefined) return <p className="text-sm text-zinc-500">{empty}</p>;
    return <JsonViewer expandDepth={expandDepth} label={label} value={stored.value} />;
  }
  if (full.data !== undefined) {
    return (
      <div>
        <p className="mb-1 text-xs text-zinc-500">
          The whole {label.toLowerCase()}, {formatBytes(stored.bytes)}.
        </p>
        <JsonViewer expandDepth={expandDepth} label={label} value={full.data} />
      </div>
    );
  }
  const head = stored.preview ?? '';
  const name = valueRef.nodeId ? `${valueRef.nodeId}-${valueRef.attempt ?? 1}-${valueRef.field}` : `execution-${valueRef.field}`;
  return (
    <div aria-label={`${label} preview`} data-testid="value-preview">
      <p className="mb-1 text-xs text-amber-700 dark:text-amber-400" role="note">
        Cut: {formatBytes(stored.bytes)} in all; showing the first {formatBytes(utf8.encode(head).length)}.
      </p>
      <pre className="max-h-48 overflow-auto rounded-md border border-zinc-200 bg-zinc-50 p-2 font-mono text-xs leading-5 break-all whitespace-pre-wrap dark:border-zinc-800 dark:bg-zinc-950">
        {head}
        <span aria-hidden className="text-zinc-400">
          …
        </span>
      </pre>
      <div className="mt-2 flex flex-wrap items-center gap-2">
        <Button disabled={full.isFetching} onClick={() => setLoad(true)} size="sm">
          {full.isFetching ? 'Loading…' : `Load the whole ${label.toLowerCase()} (${formatBytes(stored.bytes)})`}
        </Button>
        <a
          className="inline-flex items-center gap-1 text-xs font-medium text-indigo-600 hover:underline dark:text-indigo-400"
          download={`${name}.json`}
          href={valuePath(valueRef)}
        >
          <Download aria-hidden className="size-3.5" /> Download
        </a>
      </div>
      {full.isError && (
        <p className="mt-1 text-xs text-red-600" role="alert">
          {errorMessage(full.error)}
        </p>
      )}
    </div>
  );
}
