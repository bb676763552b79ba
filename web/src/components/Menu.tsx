import clsx from 'clsx';
import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

/** MenuProps describe a button that opens a menu; children get a close function. */
export interface MenuProps {
  align?: 'left' | 'right';
  buttonClassName?: string;
  children: (close: () => void) => ReactNode;
  label: ReactNode;
  /** name is the button's accessible name when label is not plain text. */
  name?: string;
}

/**
 * Menu is a button with a drop-down: it closes on Escape, on a click outside and after an item is
 * chosen, and returns focus to the button. Items are MenuItem buttons.
 */
export function Menu({ align = 'left', buttonClassName, children, label, name }: MenuProps) {
  const [open, setOpen] = useState(false);
  const id = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        setOpen(false);
        button.current?.focus();
      }
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    root.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  const close = () => {
    setOpen(false);
    button.current?.focus();
  };
  return (
    <div ref={root} className="relative">
      <button
        ref={button}
        aria-controls={open ? id : undefined}
        aria-expanded={open}
        aria-haspopup="menu"
        aria-label={name}
        className={clsx(
          'inline-flex h-8 items-center gap-2 rounded-md px-2 text-sm font-medium text-zinc-700 hover:bg-zinc-100 dark:text-zinc-200 dark:hover:bg-zinc-800',
          buttonClassName,
        )}
        onClick={() => setOpen((o) => !o)}
        type="button"
      >
        {label}
      </button>
      {open && (
        <div
          className={clsx(
            'absolute top-9 z-50 min-w-56 rounded-lg border border-zinc-200 bg-white p-1 shadow-xl dark:border-zinc-700 dark:bg-zinc-900',
            align === 'right' ? 'right-0' : 'left-0',
          )}
          id={id}
          onKeyDown={(e) => {
            if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
            e.preventDefault();
            const items = [...(root.current?.querySelectorAll<HTMLElement>('[role=menuitem]:not([disabled])') ?? [])];
            const at = items.indexOf(document.activeElement as HTMLElement);
            const next = e.key === 'ArrowDown' ? (at + 1) % items.length : (at - 1 + items.length) % items.length;
            items[next]?.focus();
          }}
          role="menu"
        >
          {/* close reads the button ref only when an item calls it from an event handler, never while rendering. */}
          {/* eslint-disable-next-line react-hooks/refs */}
          {children(close)}
        </div>
      )}
    </div>
  );
}

/** MenuItem is one entry of a Menu. */
export function MenuItem({
  children,
  disabled,
  icon,
  onSelect,
  selected,
}: {
  children: ReactNode;
  disabled?: boolean;
  icon?: ReactNode;
  onSelect: () => void;
  selected?: boolean;
}) {
  return (
    <button
      aria-current={selected ? 'true' : undefined}
      className={clsx(
        'flex w-full items-center gap-2 rounded-md px-2.5 py-1.5 text-left text-sm hover:bg-zinc-100 focus:bg-zinc-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-inset disabled:opacity-50 dark:hover:bg-zinc-800 dark:focus:bg-zinc-800',
        selected && 'font-semibold',
      )}
      disabled={disabled}
      onClick={onSelect}
      role="menuitem"
      type="button"
    >
      {icon}
      {children}
    </button>
  );
}
