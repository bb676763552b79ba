import clsx from 'clsx';
import { useEffect, useMemo, useRef, useState } from 'react';

import { NodeIcon } from '@components/NodeIcon';

import { useEditorStore } from '../EditorContext';
import { findNodes } from '../find';

/** FindNodeProps: onPick gets the chosen node's id. */
export interface FindNodeProps {
  onClose: () => void;
  onPick: (id: string) => void;
}

/**
 * FindNode is the find palette (Ctrl+F): type part of a node's title, id or type; arrows move, Enter or
 * a click picks, Escape or a click outside closes.
 */
export function FindNode({ onClose, onPick }: FindNodeProps) {
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const nodes = useEditorStore((s) => s.nodes);
  const catalog = useEditorStore((s) => s.catalog);
  const list = useMemo(() => findNodes(nodes, catalog, q), [nodes, catalog, q]);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    window.addEventListener('mousedown', onDown);
    return () => window.removeEventListener('mousedown', onDown);
  }, [onClose]);
  useEffect(() => {
    document.getElementById(`find-${list[active]?.id ?? ''}`)?.scrollIntoView({ block: 'nearest' });
  }, [active, list]);
  return (
    <div
      ref={ref}
      aria-label="Find a node"
      className="absolute top-3 left-1/2 z-50 w-96 -translate-x-1/2 overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-2xl dark:border-zinc-700 dark:bg-zinc-900"
      data-testid="find-node"
      role="dialog"
    >
      <input
        aria-activedescendant={list[active] ? `find-${list[active].id}` : undefined}
        aria-controls="find-list"
        aria-expanded
        aria-label="Find a node by title, id or type"
        autoFocus
        className="w-full border-b border-zinc-200 bg-transparent px-3 py-2.5 text-sm outline-none dark:border-zinc-800"
        onChange={(e) => {
          setQ(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, list.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            const f = list[active];
            if (f) onPick(f.id);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            onClose();
          }
        }}
        placeholder="Find a node by title, id or type…"
        role="combobox"
        value={q}
      />
      <ul className="max-h-72 overflow-auto py-1" id="find-list" role="listbox">
        {list.length === 0 && <li className="px-3 py-2 text-sm text-zinc-500">No node matches.</li>}
        {list.map((f, i) => {
          const type = catalog.get(f.type);
          return (
            <li
              key={f.id}
              aria-selected={i === active}
              className={clsx('flex cursor-pointer items-center gap-2.5 px-3 py-1.5', i === active && 'bg-indigo-50 dark:bg-indigo-950/60')}
              id={`find-${f.id}`}
              onClick={() => onPick(f.id)}
              onMouseEnter={() => setActive(i)}
              role="option"
            >
              <NodeIcon category={type?.category ?? ''} icon={type?.icon ?? ''} size="sm" />
              <span className="min-w-0 flex-1">
                <span className="block truncate text-sm font-medium">{f.title}</span>
                <span className="block truncate font-mono text-[11px] text-zinc-500">
                  {f.id} · {f.type}
                </span>
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
