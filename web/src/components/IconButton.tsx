import clsx from 'clsx';
import { forwardRef, type ButtonHTMLAttributes, type ReactNode } from 'react';

/** IconButtonProps require a label: the button shows only an icon, so the label is its name. */
export interface IconButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  active?: boolean;
  children: ReactNode;
  label: string;
  shortcut?: string;
}

/** IconButton is a square button with an icon, an accessible name and a tooltip. */
export const IconButton = forwardRef<HTMLButtonElement, IconButtonProps>(function IconButton(
  { active, children, className, label, shortcut, type = 'button', ...rest },
  ref,
) {
  return (
    <button
      ref={ref}
      aria-label={label}
      className={clsx(
        'inline-flex size-8 shrink-0 items-center justify-center rounded-md text-zinc-600 transition-colors hover:bg-zinc-200/70 hover:text-zinc-900 disabled:pointer-events-none disabled:opacity-40 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100',
        active && 'bg-zinc-200 text-zinc-900 dark:bg-zinc-800 dark:text-zinc-100',
        className,
      )}
      title={shortcut ? `${label} (${shortcut})` : label}
      type={type}
      {...rest}
    >
      {children}
    </button>
  );
});
