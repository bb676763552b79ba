import { NodeResizer, type NodeProps } from '@xyflow/react';
import clsx from 'clsx';
import { memo, useEffect, useRef, useState } from 'react';

import { Markdown } from '@components/Markdown';

import { useEditorApi, useEditorStore } from '../EditorContext';
import { MAX_NOTE_TEXT, NOTE_COLORS, NOTE_MAX_SIZE, NOTE_MIN_SIZE, type NoteColor, type NoteNode } from '../graphModel';

const COLOR: Record<NoteColor, string> = {
  blue: 'bg-sky-100 border-sky-300 dark:bg-sky-950 dark:border-sky-800',
  gray: 'bg-zinc-100 border-zinc-300 dark:bg-zinc-800 dark:border-zinc-600',
  green: 'bg-emerald-100 border-emerald-300 dark:bg-emerald-950 dark:border-emerald-800',
  pink: 'bg-pink-100 border-pink-300 dark:bg-pink-950 dark:border-pink-800',
  purple: 'bg-violet-100 border-violet-300 dark:bg-violet-950 dark:border-violet-800',
  yellow: 'bg-amber-100 border-amber-300 dark:bg-amber-950 dark:border-amber-800',
};
const SWATCH: Record<NoteColor, string> = {
  blue: 'bg-sky-300',
  gray: 'bg-zinc-300',
  green: 'bg-emerald-300',
  pink: 'bg-pink-300',
  purple: 'bg-violet-300',
  yellow: 'bg-amber-300',
};

/**
 * NoteCard is a sticky note: its markdown rendered (through the app's sanitiser), resizable when
 * selected, edited in place on double-click or Enter (Escape or a click outside ends the edit).
 */
export const NoteCard = memo(function NoteCard({ data, id, selected }: NodeProps<NoteNode>) {
  const store = useEditorApi();
  const readOnly = useEditorStore((s) => s.readOnly);
  const editing = useEditorStore((s) => s.editing === id);
  const color = data.color ?? 'yellow';
  const [draft, setDraft] = useState(data.text);
  const area = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (!editing) return;
    setDraft(data.text);
    requestAnimationFrame(() => {
      area.current?.focus();
      area.current?.setSelectionRange(area.current.value.length, area.current.value.length);
    });
    // Only when the edit starts: the draft is ours while it lasts.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editing]);
  const finish = () => {
    if (draft !== data.text) store.getState().updateNote(id, { text: draft });
    store.getState().setEditing(null);
  };
  return (
    <div
      aria-label={`Note: ${
        data.text
          .split('\n')[0]
          ?.replace(/^#+\s*/, '')
          .slice(0, 60) || 'empty'
      }`}
      className={clsx('h-full w-full overflow-hidden rounded-lg border shadow-sm', COLOR[color], selected && 'ring-2 ring-indigo-500')}
      data-testid="note"
      onDoubleClick={(e) => {
        if (readOnly) return;
        e.stopPropagation();
        store.getState().setEditing(id);
      }}
      role="group"
    >
      {!readOnly && (
        <NodeResizer
          isVisible={selected && !editing}
          maxHeight={NOTE_MAX_SIZE}
          maxWidth={NOTE_MAX_SIZE}
          minHeight={NOTE_MIN_SIZE}
          minWidth={NOTE_MIN_SIZE}
          onResizeStart={() => store.getState().beginDrag()}
        />
      )}
      {editing ? (
        <div className="flex h-full flex-col">
          <textarea
            ref={area}
            aria-label="Note text (Markdown)"
            className="nodrag nowheel nopan min-h-0 w-full flex-1 resize-none bg-transparent p-2 font-mono text-xs outline-none"
            maxLength={MAX_NOTE_TEXT}
            onBlur={(e) => {
              // Choosing a colour keeps the edit going.
              if (e.relatedTarget instanceof HTMLElement && e.relatedTarget.dataset.noteColor) return;
              finish();
            }}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              e.stopPropagation();
              if (e.key === 'Escape' || (e.key === 'Enter' && (e.ctrlKey || e.metaKey))) {
                e.preventDefault();
                finish();
              }
            }}
            placeholder="Write Markdown: # heading, **bold**, - list, [link](https://…)"
            value={draft}
          />
          <div className="nodrag flex shrink-0 items-center gap-1 px-2 pb-1.5" role="radiogroup" aria-label="Note colour">
            {NOTE_COLORS.map((c) => (
              <button
                key={c}
                aria-checked={c === color}
                aria-label={c}
                className={clsx('size-4 rounded-full border border-black/20', SWATCH[c], c === color && 'ring-2 ring-indigo-500 ring-offset-1')}
                data-note-color={c}
                onClick={() => {
                  store.getState().updateNote(id, { color: c });
                  area.current?.focus();
                }}
                role="radio"
                type="button"
              />
            ))}
            <span className="ml-auto text-[10px] text-zinc-500">Esc to finish</span>
          </div>
        </div>
      ) : data.text ? (
        <Markdown className="h-full overflow-auto p-2 text-xs" source={data.text} />
      ) : (
        <p className="p-2 text-xs text-zinc-500 italic">{readOnly ? 'Empty note' : 'Double-click to write a note'}</p>
      )}
    </div>
  );
});
