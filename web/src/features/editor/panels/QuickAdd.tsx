import clsx from 'clsx';
import { useEffect, useMemo, useRef, useState } from 'react';

import { NodeIcon } from '@components/NodeIcon';
import { filterTypes, type NodeTypeInfo } from '@services/nodeTypes';

/** QuickAddProps place the quick-add menu at a point of the screen. */
export interface QuickAddProps {
  at: { x: number; y: number };
  onClose: () => void;
  onPick: (type: string) => void;
  types: readonly NodeTypeInfo[];
}

/** QuickAdd is the keyboard palette opened with A or /: type to filter, arrows to move, Enter to add. */
export function QuickAdd({ at, onClose, onPick, types }: QuickAddProps) {
  const [q, setQ] = useState('');
  const [active, setActive] = useState(0);
  const list = useMemo(() => filterTypes(types, q).slice(0, 50), [types, q]);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    window.addEventListener('mousedown', onDown);
    return () => window.removeEventListener('mousedown', onDown);
  }, [onClose]);
  const left = Math.min(at.x, window.innerWidth - 330);
  const top = Math.min(at.y, window.innerHeight - 380);
  return (
    <div
      ref={ref}
      aria-label="Add a node"
      className="fixed z-50 w-80 overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-2xl dark:border-zinc-700 dark:bg-zinc-900"
      data-testid="quick-add"
      role="dialog"
      style={{ left, top }}
    >
      <input
        aria-activedescendant={list[active] ? `qa-${list[active].type}` : undefined}
        aria-controls="qa-list"
        aria-label="Node type to add"
        autoFocus
        className="w-full border-b border-zinc-200 bg-transparent px-3 py-2.5 text-sm outline-none dark:border-zinc-800"
        onChange={(e) => {
          setQ(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, list.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            const t = list[active];
            if (t) onPick(t.type);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            onClose();
          }
          e.stopPropagation();
        }}
        placeholder="Search node types…"
        role="combobox"
        aria-expanded
        value={q}
      />
      <ul className="max-h-72 overflow-auto py-1" id="qa-list" role="listbox">
        {list.length === 0 && <li className="px-3 py-2 text-sm text-zinc-500">Nothing matches.</li>}
        {list.map((t, i) => (
          <li
            key={t.type}
            aria-selected={i === active}
            className={clsx('flex cursor-pointer items-center gap-2.5 px-3 py-1.5', i === active && 'bg-indigo-50 dark:bg-indigo-950/60')}
            id={`qa-${t.type}`}
            onClick={() => onPick(t.type)}
            onMouseEnter={() => setActive(i)}
            role="option"
          >
            <NodeIcon category={t.category} icon={t.icon} size="sm" />
            <span className="min-w-0 flex-1">
              <span className="block truncate text-sm font-medium">{t.title}</span>
              <span className="block truncate text-[11px] text-zinc-500">{t.description}</span>
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}
