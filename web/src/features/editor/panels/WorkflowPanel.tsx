import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';

import { TagsInput } from '@components/TagsInput';
import { WorkflowPicker } from '@components/WorkflowPicker';
import { useAfterPaint } from '@hooks/use-after-paint';
import { parseJsonSafe } from '@lib/json';

import { useEditorApi, useEditorStore } from '../EditorContext';

function messagesAt(global: { location: string; message: string }[], prefix: string): string[] {
  return global.filter((g) => g.location === prefix || g.location.startsWith(prefix + '/')).map((g) => g.message);
}

function Errors({ list }: { list: string[] }) {
  return (
    <>
      {list.map((m) => (
        <p key={m} className="mt-0.5 text-xs text-red-600 dark:text-red-400" data-testid="field-error">
          {m}
        </p>
      ))}
    </>
  );
}

/** WorkflowPanel edits the workflow itself: name, description, tags and execution settings. */
export function WorkflowPanel({ readOnly }: { readOnly?: boolean }) {
  const store = useEditorApi();
  const meta = useEditorStore((s) => s.meta);
  // The output node's options (one per node) follow an added or removed node after the frame that
  // shows it: on a big graph they are hundreds of elements the add need not wait for.
  const nodeIds = useAfterPaint(useEditorStore(useShallow((s) => s.nodes.map((n) => n.id))));
  const global = useEditorStore((s) => s.problems.global);
  const workflowId = useEditorStore((s) => s.workflowId);
  const [varsText, setVarsText] = useState(() => (meta.settings.vars ? JSON.stringify(meta.settings.vars, null, 2) : ''));
  const [varsError, setVarsError] = useState<string | null>(null);
  const setMeta = store.getState().setMeta;
  const setSettings = (patch: Partial<typeof meta.settings>) => {
    const next = { ...meta.settings, ...patch };
    for (const k of Object.keys(next) as (keyof typeof next)[]) if (next[k] === undefined || next[k] === '') delete next[k];
    setMeta({ settings: next });
  };
  return (
    <fieldset className="space-y-3" disabled={readOnly}>
      <p className="text-sm text-zinc-500">Select a node to configure it. These settings apply to the whole workflow.</p>
      <div>
        <label className="mb-1 block text-sm font-medium" htmlFor="wf-name">
          Name
        </label>
        <input className="cm-input" id="wf-name" maxLength={200} onChange={(e) => setMeta({ name: e.target.value })} value={meta.name} />
        <Errors list={messagesAt(global, '/name')} />
      </div>
      <div>
        <label className="mb-1 block text-sm font-medium" htmlFor="wf-desc">
          Description
        </label>
        <textarea className="cm-input" id="wf-desc" onChange={(e) => setMeta({ description: e.target.value })} rows={2} value={meta.description} />
      </div>
      <div>
        <label className="mb-1 block text-sm font-medium" htmlFor="wf-tags">
          Tags
        </label>
        <TagsInput disabled={readOnly} id="wf-tags" onChange={(tags) => setMeta({ tags })} tags={meta.tags ?? []} />
        <Errors list={messagesAt(global, '/tags')} />
      </div>
      <div className="grid grid-cols-2 gap-3">
        <div>
          <label className="mb-1 block text-sm font-medium" htmlFor="wf-par">
            Parallel nodes
          </label>
          <input
            className="cm-input"
            id="wf-par"
            min={1}
            onChange={(e) => setSettings({ maxConcurrentNodes: e.target.value ? Number(e.target.value) : undefined })}
            placeholder="8"
            type="number"
            value={meta.settings.maxConcurrentNodes ?? ''}
          />
          <Errors list={messagesAt(global, '/settings/maxConcurrentNodes')} />
        </div>
        <div>
          <label className="mb-1 block text-sm font-medium" htmlFor="wf-timeout">
            Run timeout
          </label>
          <input
            className="cm-input"
            id="wf-timeout"
            onChange={(e) => setSettings({ timeout: e.target.value })}
            placeholder="10m"
            value={meta.settings.timeout ?? ''}
          />
          <Errors list={messagesAt(global, '/settings/timeout')} />
        </div>
      </div>
      <div>
        <label className="mb-1 block text-sm font-medium" htmlFor="wf-out">
          Output node
        </label>
        <select className="cm-input" id="wf-out" onChange={(e) => setSettings({ outputNode: e.target.value })} value={meta.settings.outputNode ?? ''}>
          <option value="">The last node that ran</option>
          {nodeIds.map((id) => (
            <option key={id} value={id}>
              {id}
            </option>
          ))}
        </select>
        <Errors list={messagesAt(global, '/settings/outputNode')} />
      </div>
      <div>
        <label className="mb-1 block text-sm font-medium" htmlFor="wf-errwf">
          Error workflow
        </label>
        <p className="mb-1 text-xs text-zinc-500">
          Started when a run of this workflow fails, with the failed execution, node and error as its input. It needs a{' '}
          <span className="font-mono">trigger.error</span> node.
        </p>
        <WorkflowPicker
          disabled={readOnly}
          exclude={workflowId}
          id="wf-errwf"
          invalid={messagesAt(global, '/settings/errorWorkflow').length > 0}
          label="Error workflow"
          none="None"
          onChange={(v) => setSettings({ errorWorkflow: v })}
          value={meta.settings.errorWorkflow}
        />
        <Errors list={messagesAt(global, '/settings/errorWorkflow')} />
      </div>
      <div>
        <label className="mb-1 block text-sm font-medium" htmlFor="wf-vars">
          Variables <span className="font-normal text-zinc-500">(JSON object, read as vars.name)</span>
        </label>
        <textarea
          className="cm-input font-mono text-[13px]"
          id="wf-vars"
          onBlur={() => {
            if (varsText.trim() === '') {
              setVarsError(null);
              setSettings({ vars: undefined });
              return;
            }
            const r = parseJsonSafe(varsText);
            if (!r.ok || typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) {
              setVarsError(r.ok ? 'Variables must be a JSON object.' : r.error);
              return;
            }
            setVarsError(null);
            setSettings({ vars: r.value as Record<string, unknown> });
          }}
          onChange={(e) => setVarsText(e.target.value)}
          placeholder='{"taxRate": 0.2}'
          rows={4}
          value={varsText}
        />
        <Errors list={[...(varsError ? [varsError] : []), ...messagesAt(global, '/settings/vars')]} />
      </div>
    </fieldset>
  );
}
