import clsx from 'clsx';
import { Trash, TriangleExclamationPoint, X } from 'lucide-react';
import { lazy, Suspense, useContext, useMemo, useState } from 'react';

import { ExpressionTargetContext } from '@components/ExpressionScope';
import { IconButton } from '@components/IconButton';
import { NodeIcon } from '@components/NodeIcon';
import { PluginBadge } from '@components/PluginBadge';
import { Spinner } from '@components/States';
import { NodeRunInspector } from '@features/run/NodeRunInspector';

import { PinsContext, RunOverlayContext, useEditorApi, useEditorStore } from '../EditorContext';
import { outputPorts, type WorkflowNodeData } from '../graphModel';
import { configErrorTree, problemLabel } from '../problems';
import { NodeSettings } from './NodeSettings';
import { PinnedNotice } from './PinnedNotice';
import { ScheduleTimes } from './ScheduleTimes';
import { useExpressionTarget } from './useExpressionTarget';
import { WebhookUrl } from './WebhookUrl';

const ConfigForm = lazy(() => import('./ConfigForm'));

type Tab = 'output' | 'parameters' | 'settings';

/** PanelNode is what the panel shows of a node: its id and data, not its position, so that dragging does not re-render it. */
export interface PanelNode {
  data: WorkflowNodeData;
  id: string;
}

/** NodePanel is the side panel of one node: its parameters, its settings and, after a run, its output. */
export function NodePanel({ node, readOnly }: { node: PanelNode; readOnly?: boolean }) {
  const store = useEditorApi();
  const type = useEditorStore((s) => s.catalog.get(node.data.type));
  const problems = useEditorStore((s) => s.problems.byNode.get(node.id));
  const run = useContext(RunOverlayContext)?.get(node.id);
  const workflowId = useEditorStore((s) => s.workflowId);
  const pin = useContext(PinsContext)?.get(node.id);
  const [tab, setTab] = useState<Tab>(run ? 'output' : 'parameters');
  const errors = useMemo(() => configErrorTree(problems), [problems]);
  const expressionTarget = useExpressionTarget(node.id);
  const settingsProblems = (problems ?? []).filter((p) => p.path[0] !== 'config').length;
  const configProblems = (problems ?? []).length - settingsProblems;
  const otherProblems = (problems ?? []).filter((p) => p.path.length === 0 || p.path[0] === 'type');

  const tabs: { count?: number; disabled?: boolean; id: Tab; label: string }[] = [
    { count: configProblems, id: 'parameters', label: 'Parameters' },
    { count: settingsProblems, id: 'settings', label: 'Settings' },
    { disabled: !run, id: 'output', label: 'Output' },
  ];

  return (
    <div className="flex h-full flex-col" data-testid="node-panel">
      <header className="flex items-start gap-3 border-b border-zinc-200 p-4 dark:border-zinc-800">
        <NodeIcon category={type?.category ?? ''} icon={type?.icon ?? ''} />
        <div className="min-w-0 flex-1">
          <h2 className="truncate font-semibold">{node.data.name || type?.title || node.data.type}</h2>
          <div className="flex items-center gap-1.5 font-mono text-xs text-zinc-500">
            <span className="truncate">
              {node.id} · {node.data.type}
            </span>
            {type?.plugin && <PluginBadge className="font-sans" plugin={type.plugin} />}
          </div>
        </div>
        {!readOnly && (
          <IconButton
            label="Delete node"
            onClick={() => {
              store.getState().select(node.id);
              store.getState().deleteSelection();
            }}
            shortcut="Delete"
          >
            <Trash className="size-4" />
          </IconButton>
        )}
        <IconButton label="Close panel" onClick={() => store.getState().select(null)} shortcut="Esc">
          <X className="size-4" />
        </IconButton>
      </header>
      {type?.description && (
        <p className="border-b border-zinc-200 px-4 py-2 text-xs text-zinc-500 dark:border-zinc-800">
          {type.description}
          {type.docs && (
            <>
              {' '}
              <a
                className="font-medium text-indigo-600 hover:underline dark:text-indigo-400"
                data-testid="node-docs-link"
                href={`/node-types?q=${encodeURIComponent(type.type)}`}
                rel="noreferrer"
                target="_blank"
              >
                Documentation
              </a>
            </>
          )}
        </p>
      )}
      {!type && (
        <p className="flex items-center gap-2 border-b border-amber-200 bg-amber-50 px-4 py-2 text-xs text-amber-800 dark:border-amber-900 dark:bg-amber-950/40 dark:text-amber-200">
          <TriangleExclamationPoint className="size-3.5" /> Unknown node type “{node.data.type}”: is its plugin installed?
        </p>
      )}
      {otherProblems.map((p) => (
        <p
          key={p.message}
          className="border-b border-red-200 bg-red-50 px-4 py-2 text-xs text-red-700 dark:border-red-900 dark:bg-red-950/40 dark:text-red-300"
          role="alert"
        >
          {p.path.length > 0 && <b>{problemLabel(p.path, type?.configSchema)}: </b>}
          {p.message}
        </p>
      ))}
      {pin && (
        <PinnedNotice
          nodeId={node.id}
          nodeTitle={node.data.name || type?.title || node.id}
          pin={pin}
          ports={outputPorts(type, node.data).map((p) => p.name)}
          readOnly={readOnly}
          workflowId={workflowId}
        />
      )}
      <div aria-label="Node panel sections" className="flex gap-1 border-b border-zinc-200 px-3 dark:border-zinc-800" role="tablist">
        {tabs.map((t) => (
          <button
            key={t.id}
            aria-controls={`panel-${t.id}`}
            aria-selected={tab === t.id}
            className={clsx(
              '-mb-px flex items-center gap-1.5 border-b-2 px-2.5 py-2 text-sm font-medium disabled:opacity-40',
              tab === t.id
                ? 'border-indigo-600 text-indigo-600 dark:border-indigo-400 dark:text-indigo-400'
                : 'border-transparent text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100',
            )}
            disabled={t.disabled}
            id={`tab-${t.id}`}
            onClick={() => setTab(t.id)}
            role="tab"
            type="button"
          >
            {t.label}
            {t.count ? <span className="rounded-full bg-red-500 px-1.5 text-[10px] font-bold text-white">{t.count}</span> : null}
            {t.id === 'output' && run && (
              <span
                className={clsx('size-2 rounded-full', run.status === 'failed' ? 'bg-red-500' : run.status === 'succeeded' ? 'bg-emerald-500' : 'bg-zinc-400')}
              />
            )}
          </button>
        ))}
      </div>
      <ExpressionTargetContext.Provider value={expressionTarget}>
        <div aria-labelledby={`tab-${tab}`} className="min-h-0 flex-1 overflow-auto p-4" id={`panel-${tab}`} role="tabpanel">
          {tab === 'parameters' && node.data.type === 'trigger.webhook' && <WebhookUrl config={node.data.config} />}
          {tab === 'parameters' && node.data.type === 'trigger.schedule' && <ScheduleTimes config={node.data.config} />}
          {tab === 'parameters' && (
            <Suspense fallback={<Spinner label="Loading form…" />}>
              {type ? (
                <ConfigForm
                  key={node.id}
                  errors={errors}
                  idPrefix={`cfg-${node.id}`}
                  nodeType={node.data.type}
                  onChange={(config) => store.getState().updateNodeConfig(node.id, config)}
                  readOnly={readOnly}
                  schema={type.configSchema}
                  value={node.data.config}
                />
              ) : (
                <pre className="text-xs">{JSON.stringify(node.data.config, null, 2)}</pre>
              )}
            </Suspense>
          )}
          {tab === 'settings' && <NodeSettings key={node.id} node={node} readOnly={readOnly} />}
          {tab === 'output' && run && (
            <NodeRunInspector
              key={`${node.id}-${run.latest.attempt}`}
              node={node.data}
              summary={run}
              workflowId={readOnly ? undefined : workflowId || undefined}
            />
          )}
        </div>
      </ExpressionTargetContext.Provider>
    </div>
  );
}
