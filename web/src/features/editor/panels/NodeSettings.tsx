import { useState, type ReactNode } from 'react';

import { ExpressionInput } from '@components/ExpressionInput';

import { useEditorApi, useEditorStore } from '../EditorContext';
import type { OnError } from '../graphModel';
import type { PanelNode } from './NodePanel';
import { fieldMessages } from '../problems';

function Field({ children, errors, hint, id, label }: { children: ReactNode; errors?: string[]; hint?: string; id: string; label: string }) {
  return (
    <div className="mb-3">
      <label className="mb-1 block text-sm font-medium text-zinc-700 dark:text-zinc-300" htmlFor={id}>
        {label}
      </label>
      {children}
      {hint && <p className="mt-0.5 text-xs text-zinc-500">{hint}</p>}
      {errors?.map((e) => (
        <p key={e} className="mt-0.5 text-xs text-red-600 dark:text-red-400" data-testid="field-error">
          {e}
        </p>
      ))}
    </div>
  );
}

const ON_ERROR: { hint: string; label: string; value: OnError }[] = [
  { hint: 'A failure fails the whole execution.', label: 'Fail the execution', value: 'fail' },
  { hint: 'The error becomes the node’s output and the run goes on.', label: 'Continue with the error as output', value: 'continue' },
  { hint: 'The error is sent out of an extra “error” port, to a handler branch.', label: 'Route to the error port', value: 'errorPort' },
];

function num(v: string): number | undefined {
  if (v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** NodeSettings edits what every node has: id, name, retry, timeout, onError and fan-out. */
export function NodeSettings({ node, readOnly }: { node: PanelNode; readOnly?: boolean }) {
  const store = useEditorApi();
  const problems = useEditorStore((s) => s.problems.byNode.get(node.id));
  const [idDraft, setIdDraft] = useState(node.id);
  const [idError, setIdError] = useState<string | null>(null);
  const d = node.data;
  const update = store.getState().updateNodeData;
  const retry = d.retry ?? {};
  const setRetry = (patch: Partial<NonNullable<typeof d.retry>>) => {
    const next = { ...retry, ...patch };
    for (const k of Object.keys(next) as (keyof typeof next)[]) if (next[k] === undefined || next[k] === '') delete next[k];
    update(node.id, { retry: Object.keys(next).length > 0 ? next : undefined });
  };
  const commitId = () => {
    const r = store.getState().renameNode(node.id, idDraft.trim());
    setIdError(r.ok ? null : r.reason);
  };
  const p = `settings-${node.id}`;
  return (
    <fieldset className="space-y-1" disabled={readOnly}>
      <Field
        errors={[...(idError ? [idError] : []), ...fieldMessages(problems, 'id')]}
        hint="Used in expressions as nodes.<id>.output"
        id={`${p}-id`}
        label="Node id"
      >
        <input
          className="cm-input font-mono"
          id={`${p}-id`}
          onBlur={commitId}
          onChange={(e) => setIdDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commitId();
          }}
          value={idDraft}
        />
      </Field>
      <Field errors={fieldMessages(problems, 'name')} id={`${p}-name`} label="Display name">
        <input
          className="cm-input"
          id={`${p}-name`}
          onChange={(e) => update(node.id, { name: e.target.value })}
          placeholder="Shown on the canvas"
          value={d.name ?? ''}
        />
      </Field>
      <Field
        errors={fieldMessages(problems, 'onError')}
        hint={ON_ERROR.find((o) => o.value === (d.onError ?? 'fail'))?.hint}
        id={`${p}-onError`}
        label="On error"
      >
        <select
          className="cm-input"
          id={`${p}-onError`}
          onChange={(e) => update(node.id, { onError: e.target.value === 'fail' ? undefined : (e.target.value as OnError) })}
          value={d.onError ?? 'fail'}
        >
          {ON_ERROR.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      </Field>
      <Field errors={fieldMessages(problems, 'timeout')} hint="Per attempt, e.g. 30s or 2m. Empty: no limit of its own." id={`${p}-timeout`} label="Timeout">
        <input
          className="cm-input"
          id={`${p}-timeout`}
          onChange={(e) => update(node.id, { timeout: e.target.value })}
          placeholder="30s"
          value={d.timeout ?? ''}
        />
      </Field>
      <div className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
        <div className="mb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Retry</div>
        <div className="grid grid-cols-2 gap-x-3">
          <Field errors={fieldMessages(problems, 'retry', 'maxAttempts')} id={`${p}-attempts`} label="Max attempts">
            <input
              className="cm-input"
              id={`${p}-attempts`}
              min={1}
              onChange={(e) => setRetry({ maxAttempts: num(e.target.value) })}
              placeholder="1"
              type="number"
              value={retry.maxAttempts ?? ''}
            />
          </Field>
          <Field errors={fieldMessages(problems, 'retry', 'initialInterval')} id={`${p}-initial`} label="First delay">
            <input
              className="cm-input"
              id={`${p}-initial`}
              onChange={(e) => setRetry({ initialInterval: e.target.value })}
              placeholder="1s"
              value={retry.initialInterval ?? ''}
            />
          </Field>
          <Field errors={fieldMessages(problems, 'retry', 'multiplier')} id={`${p}-mult`} label="Multiplier">
            <input
              className="cm-input"
              id={`${p}-mult`}
              onChange={(e) => setRetry({ multiplier: num(e.target.value) })}
              placeholder="2"
              step="0.1"
              type="number"
              value={retry.multiplier ?? ''}
            />
          </Field>
          <Field errors={fieldMessages(problems, 'retry', 'maxInterval')} id={`${p}-max`} label="Longest delay">
            <input
              className="cm-input"
              id={`${p}-max`}
              onChange={(e) => setRetry({ maxInterval: e.target.value })}
              placeholder="5m"
              value={retry.maxInterval ?? ''}
            />
          </Field>
          <Field errors={fieldMessages(problems, 'retry', 'jitter')} id={`${p}-jitter`} label="Jitter (0–1)">
            <input
              className="cm-input"
              id={`${p}-jitter`}
              max={1}
              min={0}
              onChange={(e) => setRetry({ jitter: num(e.target.value) })}
              placeholder="0"
              step="0.05"
              type="number"
              value={retry.jitter ?? ''}
            />
          </Field>
        </div>
      </div>
      <div className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-800">
        <div className="mb-2 text-xs font-semibold tracking-wide text-zinc-500 uppercase">Fan-out</div>
        <Field
          errors={fieldMessages(problems, 'forEach')}
          hint="Runs the node once per element; the output is the array of results."
          id={`${p}-forEach`}
          label="For each"
        >
          <ExpressionInput
            expressionOnly
            id={`${p}-forEach`}
            onChange={(v) => update(node.id, { forEach: v })}
            placeholder="{{ input.items }}"
            value={d.forEach ?? ''}
          />
        </Field>
        <Field errors={fieldMessages(problems, 'concurrency')} id={`${p}-conc`} label="Concurrency">
          <input
            className="cm-input"
            id={`${p}-conc`}
            min={1}
            onChange={(e) => update(node.id, { concurrency: num(e.target.value) })}
            placeholder="1"
            type="number"
            value={d.concurrency ?? ''}
          />
        </Field>
      </div>
    </fieldset>
  );
}
