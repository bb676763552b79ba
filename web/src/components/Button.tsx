import clsx from 'clsx';
import { forwardRef, type ButtonHTMLAttributes, type ReactNode } from 'react';

/** ButtonProps adds a look and an optional leading icon to a button. */
export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  icon?: ReactNode;
  size?: 'md' | 'sm';
  variant?: 'danger' | 'ghost' | 'primary' | 'secondary';
}

const VARIANTS = {
  danger: 'bg-red-600 text-white hover:bg-red-500 shadow-xs',
  ghost: 'text-zinc-700 hover:bg-zinc-200/70 dark:text-zinc-300 dark:hover:bg-zinc-800',
  primary: 'bg-indigo-600 text-white hover:bg-indigo-500 shadow-xs',
  secondary:
    'border border-zinc-300 bg-white text-zinc-800 hover:bg-zinc-50 shadow-xs dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 dark:hover:bg-zinc-800',
} as const;

/** Button is the app's button. */
export const Button = forwardRef<HTMLButtonElement, ButtonProps>(function Button(
  { className, icon, size = 'md', type = 'button', variant = 'secondary', children, ...rest },
  ref,
) {
  return (
    <button
      ref={ref}
      className={clsx(
        'inline-flex shrink-0 items-center justify-center gap-1.5 rounded-md font-medium whitespace-nowrap transition-colors disabled:pointer-events-none disabled:opacity-50',
        size === 'sm' ? 'h-7 px-2 text-xs' : 'h-9 px-3 text-sm',
        VARIANTS[variant],
        className,
      )}
      type={type}
      {...rest}
    >
      {icon}
      {children}
    </button>
  );
});
