import clsx from 'clsx';
import type { TextareaHTMLAttributes } from 'react';

import { hasExpression } from '@lib/json';

/** ExpressionInputProps describe a text box whose value may hold {{ expressions }}. */
export interface ExpressionInputProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'onChange' | 'value'> {
  /** expressionOnly marks a field that always takes an expression (x-cm-expression). */
  expressionOnly?: boolean;
  invalid?: boolean;
  onChange: (value: string) => void;
  value: string;
}

/**
 * ExpressionInput is a text box that shows when its value is an expression: a "fx" badge, a
 * monospace face and a tinted background, so that {{ nodes.fetch.output }} never passes for text.
 */
export function ExpressionInput({ className, expressionOnly, invalid, onChange, value, ...rest }: ExpressionInputProps) {
  const isExpr = hasExpression(value);
  const lines = Math.min(8, Math.max(1, value.split('\n').length));
  // field-sizing grows the box with its text, wrapped lines included (Chromium); rows is the fallback.
  return (
    <div className="relative">
      <textarea
        className={clsx(
          'cm-input max-h-60 min-h-[34px] resize-y pr-10 [field-sizing:content]',
          (isExpr || expressionOnly) && 'font-mono text-[13px]',
          isExpr && 'border-violet-300 bg-violet-50/60 dark:border-violet-800 dark:bg-violet-950/30',
          invalid && 'cm-invalid',
          className,
        )}
        data-expression={isExpr ? 'true' : 'false'}
        onChange={(e) => onChange(e.target.value)}
        rows={lines}
        spellCheck={false}
        value={value}
        {...rest}
      />
      {(isExpr || expressionOnly) && (
        <span
          aria-label={isExpr ? 'Expression' : 'Takes an expression'}
          className={clsx(
            'pointer-events-none absolute top-1.5 right-1.5 rounded px-1 py-px font-mono text-[10px] font-bold italic',
            isExpr ? 'bg-violet-600 text-white' : 'bg-zinc-200 text-zinc-500 dark:bg-zinc-700 dark:text-zinc-300',
          )}
          data-testid="expression-badge"
          role="img"
          title={isExpr ? 'This value is an expression, evaluated at run time' : 'Write an expression such as {{ input.total > 100 }}'}
        >
          fx
        </span>
      )}
    </div>
  );
}
