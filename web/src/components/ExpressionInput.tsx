import { useQuery } from '@tanstack/react-query';
import clsx from 'clsx';
import { lazy, Suspense, useCallback, useContext, useId, useRef, type TextareaHTMLAttributes, useLayoutEffect } from 'react';

import { useDebouncedValue } from '@hooks/use-debounced-value';
import type { ExpressionScope } from '@lib/expressionLang';
import { hasExpression } from '@lib/json';
import { errorMessage } from '@services/errors';
import { evaluateExpression, expressionQueries, type ExpressionResultFromAPI } from '@services/expressions';

import { ExpressionTargetContext } from './ExpressionScope';

const ExpressionEditor = lazy(() => import('./ExpressionEditor'));

/** expressionEditorSettings switches the CodeMirror editor off, leaving the plain text box (for tests of forms that type into text boxes). */
export const expressionEditorSettings = { codeEditor: true };

/** PREVIEW_DEBOUNCE_MS is how long typing must pause before the preview is evaluated. */
export const PREVIEW_DEBOUNCE_MS = 250;

/** ExpressionInputProps describe a text box whose value may hold {{ expressions }}. */
export interface ExpressionInputProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'onBlur' | 'onChange' | 'value'> {
  /** expressionOnly marks a field that always takes an expression (x-cm-expression). */
  expressionOnly?: boolean;
  invalid?: boolean;
  onBlur?: () => void;
  onChange: (value: string) => void;
  value: string;
}

/** formatPreview shows a value in one short line: strings as they are, anything else as JSON. */
export function formatPreview(res: ExpressionResultFromAPI, max = 200): string {
  const value = res.value ?? null;
  let text = res.truncated || typeof value === 'string' ? String(value) : JSON.stringify(value);
  if (res.type === 'string' && !res.truncated) text = JSON.stringify(value);
  if (text.length > max || res.truncated) text = `${text.slice(0, max)}…`;
  return text;
}

/**
 * ExpressionInput edits a configuration string that may hold {{ expressions }}: a CodeMirror editor
 * (loaded lazily; a text box until then) with highlighting and completion inside the braces, an
 * "fx" badge, and — inside a node's form — a live preview of the value under the field, evaluated by
 * the server against the node's data in the workflow's last run.
 */
export function ExpressionInput(props: ExpressionInputProps) {
  const target = useContext(ExpressionTargetContext);
  // Outside a node's form and without the code editor there is nothing to ask the server.
  if (!expressionEditorSettings.codeEditor && target === null) return <PlainExpressionInput {...props} />;
  return <RichExpressionInput {...props} />;
}

function RichExpressionInput({
  className,
  disabled,
  expressionOnly,
  id,
  invalid,
  onBlur,
  onChange,
  placeholder,
  readOnly,
  value,
  ...rest
}: ExpressionInputProps) {
  const isExpr = hasExpression(value);
  const target = useContext(ExpressionTargetContext);
  const previewId = useId();
  const functions = useQuery({ ...expressionQueries.functions(), enabled: expressionEditorSettings.codeEditor && (isExpr || !!expressionOnly) });
  const scopeRef = useRef<() => ExpressionScope>(() => ({}));
  // Completion reads the latest scope through the ref, updated after each render.
  useLayoutEffect(() => {
    const fns = functions.data ?? [];
    scopeRef.current = () => ({ ...(target?.scope() ?? {}), functions: fns });
  });
  const scope = useCallback(() => scopeRef.current(), []);

  const debounced = useDebouncedValue(value, PREVIEW_DEBOUNCE_MS);
  // An unclosed {{ is previewed too: its error says what it lacks.
  const previewOn = target !== null && debounced.includes('{{');
  const preview = useQuery({
    enabled: previewOn,
    queryFn: ({ signal }) =>
      evaluateExpression(
        { executionId: target?.executionId ?? undefined, expression: debounced, nodeId: target?.nodeId, workflowId: target?.workflowId || undefined },
        signal,
      ),
    queryKey: [...expressionQueries.all(), 'preview', target?.workflowId, target?.executionId, target?.nodeId, debounced] as const,
    retry: false,
    staleTime: 30_000,
  });

  const textarea = (
    <ExpressionTextarea
      className={className}
      disabled={disabled}
      expressionOnly={expressionOnly}
      id={id}
      invalid={invalid}
      onBlur={onBlur}
      onChange={onChange}
      placeholder={placeholder}
      readOnly={readOnly}
      value={value}
      {...rest}
    />
  );
  return (
    <div>
      <div
        className={clsx(
          'relative',
          expressionEditorSettings.codeEditor && 'cmx-field',
          expressionEditorSettings.codeEditor && (isExpr || expressionOnly) && 'cmx-mono',
          expressionEditorSettings.codeEditor && isExpr && 'cmx-expr',
          expressionEditorSettings.codeEditor && invalid && 'cmx-invalid',
        )}
        data-expression={isExpr ? 'true' : 'false'}
      >
        {expressionEditorSettings.codeEditor ? (
          <Suspense fallback={textarea}>
            <ExpressionEditor
              ariaDescribedBy={previewOn ? previewId : undefined}
              ariaLabel={rest['aria-label']}
              disabled={disabled || readOnly}
              id={id}
              invalid={invalid}
              isExpression={isExpr}
              onBlur={onBlur}
              onChange={onChange}
              placeholder={placeholder}
              scope={scope}
              value={value}
            />
          </Suspense>
        ) : (
          textarea
        )}
        {(isExpr || expressionOnly) && <ExpressionBadge isExpression={isExpr} />}
      </div>
      {previewOn && (
        <p aria-live="polite" className="mt-1 min-h-4 font-mono text-[11px] break-all" data-testid="expression-preview" id={previewId}>
          {preview.isPending ? (
            <span className="text-zinc-400">Evaluating…</span>
          ) : preview.isError ? (
            <span className="text-amber-700 dark:text-amber-400">Preview unavailable: {errorMessage(preview.error)}</span>
          ) : preview.data.error ? (
            <span className="text-red-600 dark:text-red-400" data-testid="expression-preview-error">
              {preview.data.error.message}
            </span>
          ) : (
            <span className="text-zinc-600 dark:text-zinc-300" data-testid="expression-preview-value">
              <span className="text-zinc-400" title={target?.executionId ? 'Evaluated against the last run' : 'Evaluated without run data'}>
                {target?.executionId ? '= ' : '≈ '}
              </span>
              {formatPreview(preview.data)}
              <span className="ml-1 text-zinc-500 dark:text-zinc-400">({preview.data.type})</span>
            </span>
          )}
        </p>
      )}
    </div>
  );
}

/** PlainExpressionInput is the text box alone, with its "fx" badge. */
function PlainExpressionInput(props: ExpressionInputProps) {
  const isExpr = hasExpression(props.value);
  return (
    <div className="relative">
      <ExpressionTextarea {...props} />
      {(isExpr || props.expressionOnly) && <ExpressionBadge isExpression={isExpr} />}
    </div>
  );
}

/**
 * ExpressionTextarea is the plain text box of an expression field (and the code editor's stand-in while
 * it loads): monospace for expressions, violet while the value holds one.
 */
function ExpressionTextarea({ className, expressionOnly, invalid, onBlur, onChange, value, ...rest }: ExpressionInputProps) {
  const isExpr = hasExpression(value);
  const lines = Math.min(8, Math.max(1, value.split('\n').length));
  // field-sizing grows the box with its text, wrapped lines included (Chromium); rows is the fallback.
  return (
    <textarea
      className={clsx(
        'cm-input [field-sizing:content] max-h-60 min-h-[34px] resize-y pr-10',
        (isExpr || expressionOnly) && 'font-mono text-[13px]',
        isExpr && 'border-violet-300 bg-violet-50/60 dark:border-violet-800 dark:bg-violet-950/30',
        invalid && 'cm-invalid',
        className,
      )}
      data-expression={isExpr ? 'true' : 'false'}
      onBlur={onBlur ? () => onBlur() : undefined}
      onChange={(e) => onChange(e.target.value)}
      rows={lines}
      spellCheck={false}
      value={value}
      {...rest}
    />
  );
}

/** ExpressionBadge is the "fx" in the field's corner: violet over an expression, grey where one is expected. */
function ExpressionBadge({ isExpression }: { isExpression: boolean }) {
  return (
    <span
      aria-label={isExpression ? 'Expression' : 'Takes an expression'}
      className={clsx(
        'pointer-events-none absolute top-1.5 right-1.5 z-10 rounded px-1 py-px font-mono text-[10px] font-bold italic',
        isExpression ? 'bg-violet-600 text-white' : 'bg-zinc-200 text-zinc-500 dark:bg-zinc-700 dark:text-zinc-300',
      )}
      data-testid="expression-badge"
      role="img"
      title={isExpression ? 'This value is an expression, evaluated at run time' : 'Write an expression such as {{ input.total > 100 }}'}
    >
      fx
    </span>
  );
}
