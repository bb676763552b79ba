import clsx from 'clsx';
import { ChevronRight, Copy } from 'lucide-react';
import { memo, useState } from 'react';

import { toast } from '@lib/toast';

const PAGE = 100;

/** JsonViewerProps describe a value to show as a collapsible tree. */
export interface JsonViewerProps {
  className?: string;
  /** expandDepth is how many levels start open. */
  expandDepth?: number;
  label?: string;
  value: unknown;
}

/** JsonViewer shows a JSON value as a tree whose objects and arrays fold, with a copy button. */
export function JsonViewer({ className, expandDepth = 2, label, value }: JsonViewerProps) {
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(JSON.stringify(value, null, 2));
      toast.success('Copied to the clipboard');
    } catch {
      toast.error('The browser did not allow copying.');
    }
  };
  return (
    <div
      className={clsx(
        'group relative rounded-md border border-zinc-200 bg-zinc-50 font-mono text-xs leading-5 dark:border-zinc-800 dark:bg-zinc-950',
        className,
      )}
      data-testid="json-viewer"
    >
      <button
        aria-label={label ? `Copy ${label}` : 'Copy JSON'}
        className="absolute top-1.5 right-1.5 rounded p-1 text-zinc-400 opacity-60 group-hover:opacity-100 hover:bg-zinc-200 hover:text-zinc-700 focus:opacity-100 dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
        onClick={copy}
        type="button"
      >
        <Copy className="size-3.5" />
      </button>
      {/* The tree holds the values only: a tree may contain tree items and groups, not the copy button. */}
      <div aria-label={value === undefined ? undefined : label} className="overflow-auto p-2 pr-8" role={value === undefined ? undefined : 'tree'}>
        {value === undefined ? (
          <span className="text-zinc-500 italic dark:text-zinc-400">no value</span>
        ) : (
          <JsonNode depth={0} expandDepth={expandDepth} value={value} />
        )}
      </div>
    </div>
  );
}

interface NodeProps {
  depth: number;
  expandDepth: number;
  name?: string;
  value: unknown;
}

const JsonNode = memo(function JsonNode({ depth, expandDepth, name, value }: NodeProps) {
  const isArr = Array.isArray(value);
  const isObj = value !== null && typeof value === 'object';
  const [open, setOpen] = useState(depth < expandDepth);
  const [shown, setShown] = useState(PAGE);
  const key = name !== undefined && <span className="text-violet-700 dark:text-violet-300">{isArrayIndex(name) ? name : JSON.stringify(name)}: </span>;
  if (!isObj) {
    return (
      <div className="break-all whitespace-pre-wrap" role="treeitem" style={{ paddingLeft: depth ? 14 : 0 }}>
        {key}
        <Scalar value={value} />
      </div>
    );
  }
  const entries: [string, unknown][] = isArr ? (value as unknown[]).map((v, i) => [String(i), v]) : Object.entries(value as Record<string, unknown>);
  const [openBr, closeBr] = isArr ? ['[', ']'] : ['{', '}'];
  const summary = isArr ? `${entries.length} item${entries.length === 1 ? '' : 's'}` : `${entries.length} key${entries.length === 1 ? '' : 's'}`;
  return (
    <div aria-expanded={open} role="treeitem" style={{ paddingLeft: depth ? 14 : 0 }}>
      <button
        aria-label={`${open ? 'Collapse' : 'Expand'} ${name ?? 'value'}`}
        className="inline-flex items-center rounded text-left hover:bg-zinc-200/70 dark:hover:bg-zinc-800"
        onClick={() => setOpen((o) => !o)}
        type="button"
      >
        <ChevronRight aria-hidden className={clsx('-ml-1 size-3.5 text-zinc-400 transition-transform', open && 'rotate-90')} />
        {key}
        <span className="text-zinc-500">{openBr}</span>
        {!open && (
          <span className="text-zinc-500 dark:text-zinc-400">
            {entries.length > 0 ? ` ${summary} ` : ''}
            {closeBr}
          </span>
        )}
      </button>
      {open && (
        <div role="group">
          {entries.slice(0, shown).map(([k, v]) => (
            <JsonNode key={k} depth={depth + 1} expandDepth={expandDepth} name={k} value={v} />
          ))}
          {entries.length > shown && (
            <button className="ml-3.5 text-indigo-600 hover:underline dark:text-indigo-400" onClick={() => setShown((s) => s + PAGE)} type="button">
              show {Math.min(PAGE, entries.length - shown)} more of {entries.length - shown}
            </button>
          )}
          <div className="text-zinc-500">{closeBr}</div>
        </div>
      )}
    </div>
  );
});

function isArrayIndex(s: string): boolean {
  return /^\d+$/.test(s);
}

function Scalar({ value }: { value: unknown }) {
  if (value === null) return <span className="text-zinc-500">null</span>;
  switch (typeof value) {
    case 'string':
      return <span className="text-emerald-700 dark:text-emerald-400">{JSON.stringify(value)}</span>;
    case 'number':
      return <span className="text-sky-700 dark:text-sky-400">{String(value)}</span>;
    case 'boolean':
      return <span className="text-amber-700 dark:text-amber-400">{String(value)}</span>;
    default:
      return <span>{String(value)}</span>;
  }
}
