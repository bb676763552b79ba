import clsx from 'clsx';
import { useId, type InputHTMLAttributes, type ReactNode } from 'react';

/** FieldProps are an input's label, its hint and its error. */
export interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> {
  error?: string | null;
  hint?: ReactNode;
  label: ReactNode;
}

/** Field is a labelled text input whose error is announced and tied to it (aria-describedby). */
export function Field({ className, error, hint, label, ...rest }: FieldProps) {
  const id = useId();
  // The error replaces the hint while there is one.
  const described = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className={className}>
      <label className="mb-1 block text-sm font-medium" htmlFor={id}>
        {label}
      </label>
      <input aria-describedby={described} aria-invalid={error ? true : undefined} className={clsx('cm-input', error && 'cm-invalid')} id={id} {...rest} />
      {hint && !error && (
        <p className="mt-1 text-xs text-zinc-500" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="mt-1 text-xs text-red-600 dark:text-red-400" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** SelectField is a labelled select. */
export function SelectField({
  children,
  label,
  onChange,
  value,
  disabled,
}: {
  children: ReactNode;
  disabled?: boolean;
  label: ReactNode;
  onChange: (v: string) => void;
  value: string;
}) {
  const id = useId();
  return (
    <div>
      <label className="mb-1 block text-sm font-medium" htmlFor={id}>
        {label}
      </label>
      <select className="cm-input" disabled={disabled} id={id} onChange={(e) => onChange(e.target.value)} value={value}>
        {children}
      </select>
    </div>
  );
}

/** FormError is a form's error that belongs to no one field. */
export function FormError({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div
      className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
      role="alert"
    >
      {children}
    </div>
  );
}
