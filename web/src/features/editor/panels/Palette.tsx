import { memo, useMemo, useState, type CSSProperties, type DragEvent } from 'react';
import { List, type RowComponentProps } from 'react-window';

import { NodeIcon } from '@components/NodeIcon';
import { PluginBadge, pluginTitle } from '@components/PluginBadge';
import { SearchInput } from '@components/SearchInput';
import { searchTypes, type NodeTypeInfo } from '@services/nodeTypes';

import { PALETTE_MIME } from '../Canvas';

type PaletteRow = { category: string; kind: 'header' } | { kind: 'item'; type: NodeTypeInfo };

/** MENTIONS heads the types a search found only in their description, after those it names. */
export const MENTIONS = 'Mentioned in descriptions';

/** paletteRows flattens types into category headers and items, in the order given, then mentions under one header. */
export function paletteRows(types: readonly NodeTypeInfo[], mentions: readonly NodeTypeInfo[] = []): PaletteRow[] {
  const rows: PaletteRow[] = [];
  let current = '';
  for (const t of types) {
    if (t.category !== current) {
      current = t.category;
      rows.push({ category: current, kind: 'header' });
    }
    rows.push({ kind: 'item', type: t });
  }
  if (mentions.length > 0) {
    rows.push({ category: MENTIONS, kind: 'header' });
    for (const t of mentions) rows.push({ kind: 'item', type: t });
  }
  return rows;
}

interface RowProps {
  onAdd: (type: string) => void;
  rows: PaletteRow[];
}

const HEADER = 30;
const ITEM = 68;

function onDragStart(e: DragEvent, type: string) {
  e.dataTransfer.setData(PALETTE_MIME, type);
  e.dataTransfer.setData('text/plain', type);
  e.dataTransfer.effectAllowed = 'copy';
}

function Row({ ariaAttributes, index, onAdd, rows, style }: RowComponentProps<RowProps>) {
  const row = rows[index]!;
  if (row.kind === 'header') {
    return (
      <div
        {...ariaAttributes}
        className="flex items-end px-3 pb-1 text-[11px] font-semibold tracking-wide text-zinc-500 uppercase"
        style={style as CSSProperties}
      >
        {row.category}
      </div>
    );
  }
  const t = row.type;
  return (
    <div {...ariaAttributes} className="px-2 py-0.5" style={style as CSSProperties}>
      <button
        className="flex h-full w-full cursor-grab items-start gap-2.5 rounded-lg border border-transparent px-2 py-1.5 text-left hover:border-zinc-200 hover:bg-white active:cursor-grabbing dark:hover:border-zinc-700 dark:hover:bg-zinc-800"
        data-testid="palette-item"
        data-type={t.type}
        draggable
        onClick={() => onAdd(t.type)}
        onDragStart={(e) => onDragStart(e, t.type)}
        title={`${t.type}: ${t.description}${t.plugin ? `\n${pluginTitle(t.plugin)}` : ''}\nDrag onto the canvas, or press Enter to add.`}
        type="button"
      >
        <NodeIcon category={t.category} icon={t.icon} size="sm" />
        <span className="min-w-0">
          <span className="flex items-center gap-1.5">
            <span className="truncate text-sm font-medium">{t.title}</span>
            {t.plugin && <PluginBadge plugin={t.plugin} />}
          </span>
          <span className="line-clamp-2 text-[11px] leading-snug text-zinc-500" data-testid="palette-description">
            {t.description}
          </span>
        </span>
      </button>
    </div>
  );
}

/** Palette lists the node types by category, with search; the list is virtualized (react-window). Plugin types carry a badge. */
export const Palette = memo(function Palette({ onAdd, types }: { onAdd: (type: string) => void; types: readonly NodeTypeInfo[] }) {
  const [q, setQ] = useState('');
  const rows = useMemo(() => {
    const { mentions, names } = searchTypes(types, q);
    return paletteRows(names, mentions);
  }, [types, q]);
  const rowProps = useMemo(() => ({ onAdd, rows }), [onAdd, rows]);
  return (
    <aside
      aria-label="Node palette"
      className="flex h-full w-60 shrink-0 flex-col border-r border-zinc-200 bg-zinc-50 dark:border-zinc-800 dark:bg-zinc-900/50"
    >
      <div className="p-3">
        <SearchInput label="Search node types" onChange={setQ} placeholder="Search nodes…" value={q} />
      </div>
      <div className="min-h-0 flex-1">
        {rows.length === 0 ? (
          <p className="px-4 text-sm text-zinc-500">No node type matches “{q}”.</p>
        ) : (
          <List
            rowComponent={Row}
            rowCount={rows.length}
            rowHeight={(i) => (rows[i]?.kind === 'header' ? HEADER : ITEM)}
            rowProps={rowProps}
            style={{ height: '100%' }}
          />
        )}
      </div>
      <p className="border-t border-zinc-200 px-3 py-2 text-[11px] text-zinc-500 dark:border-zinc-800">
        Drag onto the canvas, or press <kbd className="rounded border px-1">A</kbd> over it.
      </p>
    </aside>
  );
});
