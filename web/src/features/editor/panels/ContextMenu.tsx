import { useEffect, useLayoutEffect, useRef, type ReactNode } from 'react';

/** ContextMenuItem is one entry of a context menu. */
export interface ContextMenuItem {
  disabled?: boolean;
  icon?: ReactNode;
  label: string;
  onSelect: () => void;
  shortcut?: string;
}

/** ContextMenuProps place a menu at a point of the screen. */
export interface ContextMenuProps {
  at: { x: number; y: number };
  items: readonly ContextMenuItem[];
  label: string;
  onClose: () => void;
}

/**
 * ContextMenu is the canvas's right-click menu (also Shift+F10 or the menu key): focus starts on the
 * first item, arrows move, Enter picks, Escape, Tab or a click outside closes it and focus goes back
 * where it was.
 */
export function ContextMenu({ at, items, label, onClose }: ContextMenuProps) {
  const ref = useRef<HTMLDivElement>(null);
  // The parent passes a new onClose on each render: the effect below must run once, on opening.
  const close = useRef(onClose);
  useLayoutEffect(() => {
    close.current = onClose;
  });
  useEffect(() => {
    const back = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    ref.current?.querySelector<HTMLElement>('[role=menuitem]:not([disabled])')?.focus();
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) close.current();
    };
    window.addEventListener('mousedown', onDown);
    return () => {
      window.removeEventListener('mousedown', onDown);
      // Focus goes back only when nothing took it (an item may open a dialog that did).
      const now = document.activeElement;
      if (back?.isConnected && (now === null || now === document.body)) back.focus();
    };
  }, []);
  const left = Math.max(4, Math.min(at.x, window.innerWidth - 236));
  const top = Math.max(4, Math.min(at.y, window.innerHeight - (items.length * 34 + 12)));
  return (
    <div
      ref={ref}
      aria-label={label}
      className="fixed z-50 w-56 rounded-lg border border-zinc-200 bg-white p-1 shadow-xl dark:border-zinc-700 dark:bg-zinc-900"
      data-testid="context-menu"
      onContextMenu={(e) => e.preventDefault()}
      onKeyDown={(e) => {
        e.stopPropagation();
        if (e.key === 'Escape' || e.key === 'Tab') {
          e.preventDefault();
          onClose();
          return;
        }
        if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
        e.preventDefault();
        const list = [...(ref.current?.querySelectorAll<HTMLElement>('[role=menuitem]:not([disabled])') ?? [])];
        const i = list.indexOf(document.activeElement as HTMLElement);
        const next =
          e.key === 'Home' ? 0 : e.key === 'End' ? list.length - 1 : e.key === 'ArrowDown' ? (i + 1) % list.length : (i - 1 + list.length) % list.length;
        list[next]?.focus();
      }}
      role="menu"
      style={{ left, top }}
    >
      {items.map((it) => (
        <button
          key={it.label}
          className="flex w-full items-center gap-2 rounded-md px-2.5 py-1.5 text-left text-sm hover:bg-zinc-100 focus:bg-zinc-100 focus:outline-none disabled:opacity-50 dark:hover:bg-zinc-800 dark:focus:bg-zinc-800"
          disabled={it.disabled}
          onClick={() => {
            onClose();
            it.onSelect();
          }}
          role="menuitem"
          type="button"
        >
          <span className="size-4 shrink-0 text-zinc-500">{it.icon}</span>
          <span className="flex-1">{it.label}</span>
          {it.shortcut && <kbd className="font-sans text-[11px] text-zinc-400">{it.shortcut}</kbd>}
        </button>
      ))}
    </div>
  );
}
