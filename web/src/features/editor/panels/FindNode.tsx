import { useMemo, useState } from 'react';

import { NodeIcon } from '@components/NodeIcon';

import { useEditorStore } from '../EditorContext';
import { findNodes } from '../find';
import { PickList } from './PickList';

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
  const nodes = useEditorStore((s) => s.nodes);
  const catalog = useEditorStore((s) => s.catalog);
  const list = useMemo(() => findNodes(nodes, catalog, q), [nodes, catalog, q]);
  return (
    <PickList
      className="absolute top-3 left-1/2 z-50 w-96 -translate-x-1/2"
      empty="No node matches."
      idPrefix="find"
      inputLabel="Find a node by title, id or type"
      itemKey={(f) => f.id}
      items={list}
      label="Find a node"
      onClose={onClose}
      onPick={(f) => onPick(f.id)}
      onQuery={setQ}
      placeholder="Find a node by title, id or type…"
      query={q}
      renderItem={(f) => {
        const type = catalog.get(f.type);
        return (
          <>
            <NodeIcon category={type?.category ?? ''} icon={type?.icon ?? ''} size="sm" />
            <span className="min-w-0 flex-1">
              <span className="block truncate text-sm font-medium">{f.title}</span>
              <span className="block truncate font-mono text-[11px] text-zinc-500">
                {f.id} · {f.type}
              </span>
            </span>
          </>
        );
      }}
      testId="find-node"
    />
  );
}
