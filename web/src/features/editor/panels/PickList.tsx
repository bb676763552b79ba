import clsx from 'clsx';
import { useEffect, useRef, useState, type CSSProperties, type ReactNode } from 'react';

/** PickListProps describe a filter box over a list of items, one of which is picked. */
export interface PickListProps<T> {
  /** className places the popup (its position and width); the frame is PickList's. */
  className: string;
  /** empty is said when no item matches the query. */
  empty: string;
  /** idPrefix names the list (`<idPrefix>-list`) and each option (`<idPrefix>-<itemKey>`). */
  idPrefix: string;
  /** inputLabel is the filter box's accessible name; label is the popup's. */
  inputLabel: string;
  itemKey: (item: T) => string;
  items: readonly T[];
  label: string;
  onClose: () => void;
  onPick: (item: T) => void;
  /** onQuery is told of each change of the filter text (the items follow it). */
  onQuery: (query: string) => void;
  placeholder: string;
  query: string;
  /** renderItem draws an option's content, after nothing: the row around it is PickList's. */
  renderItem: (item: T) => ReactNode;
  style?: CSSProperties;
  testId: string;
}

/**
 * PickList is the popup of the find and quick-add palettes: a combobox that filters a listbox. The
 * arrows move the active option (kept in view), Enter or a click picks it, Escape or a press outside
 * closes; the keys it handles go no further (the editor's shortcuts do not see them).
 */
export function PickList<T>({
  className,
  empty,
  idPrefix,
  inputLabel,
  itemKey,
  items,
  label,
  onClose,
  onPick,
  onQuery,
  placeholder,
  query,
  renderItem,
  style,
  testId,
}: PickListProps<T>) {
  const [active, setActive] = useState(0);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    window.addEventListener('mousedown', onDown);
    return () => window.removeEventListener('mousedown', onDown);
  }, [onClose]);
  const optionId = (item: T) => `${idPrefix}-${itemKey(item)}`;
  const current = items[active];
  const currentId = current === undefined ? undefined : optionId(current);
  useEffect(() => {
    if (currentId) document.getElementById(currentId)?.scrollIntoView?.({ block: 'nearest' });
  }, [currentId]);
  return (
    <div
      ref={ref}
      aria-label={label}
      className={clsx('overflow-hidden rounded-xl border border-zinc-200 bg-white shadow-2xl dark:border-zinc-700 dark:bg-zinc-900', className)}
      data-testid={testId}
      role="dialog"
      style={style}
    >
      <input
        aria-activedescendant={currentId}
        aria-controls={`${idPrefix}-list`}
        aria-expanded
        aria-label={inputLabel}
        autoFocus
        className="w-full border-b border-zinc-200 bg-transparent px-3 py-2.5 text-sm outline-none dark:border-zinc-800"
        onChange={(e) => {
          onQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setActive((a) => Math.min(a + 1, items.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            if (current !== undefined) onPick(current);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            onClose();
          }
        }}
        placeholder={placeholder}
        role="combobox"
        value={query}
      />
      <ul className="max-h-72 overflow-auto py-1" id={`${idPrefix}-list`} role="listbox">
        {items.length === 0 && <li className="px-3 py-2 text-sm text-zinc-500">{empty}</li>}
        {items.map((item, i) => (
          <li
            key={itemKey(item)}
            aria-selected={i === active}
            className={clsx('flex cursor-pointer items-center gap-2.5 px-3 py-1.5', i === active && 'bg-indigo-50 dark:bg-indigo-950/60')}
            id={optionId(item)}
            onClick={() => onPick(item)}
            onMouseEnter={() => setActive(i)}
            role="option"
          >
            {renderItem(item)}
          </li>
        ))}
      </ul>
    </div>
  );
}
