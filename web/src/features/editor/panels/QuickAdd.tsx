import { useMemo, useState } from 'react';

import { NodeIcon } from '@components/NodeIcon';
import { filterTypes, type NodeTypeInfo } from '@services/nodeTypes';

import { PickList } from './PickList';

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
  const list = useMemo(() => filterTypes(types, q).slice(0, 50), [types, q]);
  const left = Math.min(at.x, window.innerWidth - 330);
  const top = Math.min(at.y, window.innerHeight - 380);
  return (
    <PickList
      className="fixed z-50 w-80"
      empty="Nothing matches."
      idPrefix="qa"
      inputLabel="Node type to add"
      itemKey={(t) => t.type}
      items={list}
      label="Add a node"
      onClose={onClose}
      onPick={(t) => onPick(t.type)}
      onQuery={setQ}
      placeholder="Search node types…"
      query={q}
      renderItem={(t) => (
        <>
          <NodeIcon category={t.category} icon={t.icon} size="sm" />
          <span className="min-w-0 flex-1">
            <span className="block truncate text-sm font-medium">{t.title}</span>
            <span className="block truncate text-[11px] text-zinc-500">{t.description}</span>
          </span>
        </>
      )}
      style={{ left, top }}
      testId="quick-add"
    />
  );
}
