import clsx from 'clsx';
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { Pin, Repeat, RotateCcw, TriangleExclamationPoint } from 'lucide-react';
import { memo, useContext, useEffect, useRef, useState } from 'react';

import { NodeIcon } from '@components/NodeIcon';
import { StatusIcon } from '@components/StatusBadge';
import { formatDuration } from '@lib/format';

import { PinsContext, RunOverlayContext, useEditorApi, useEditorStore } from '../EditorContext';
import { inputPorts, MAX_TITLE_LENGTH, outputPorts, portHint, portLabel, type WorkflowNode } from '../graphModel';
import { problemLabel } from '../problems';

const STATUS_RING: Record<string, string> = {
  canceled: 'border-zinc-400',
  failed: 'border-red-500',
  running: 'border-sky-500',
  skipped: 'border-dashed border-zinc-300 opacity-60 dark:border-zinc-700',
  succeeded: 'border-emerald-500',
  waiting: 'border-amber-500',
};
const STATUS_TEXT: Record<string, string> = {
  canceled: 'text-zinc-500',
  failed: 'text-red-600 dark:text-red-400',
  pending: 'text-zinc-500',
  running: 'text-sky-600 dark:text-sky-400',
  skipped: 'text-zinc-500',
  succeeded: 'text-emerald-600 dark:text-emerald-400',
  waiting: 'text-amber-600 dark:text-amber-400',
};

const PORT_ROW = 22;

/**
 * WorkflowNodeCard renders every node, whatever its type, from the node type catalogue: icon, title,
 * id and type, one labelled handle per port (handle id = port name), validation problems, and the
 * status of the run painted on the canvas, and a pin badge when its output is pinned.
 */
export const WorkflowNodeCard = memo(function WorkflowNodeCard({ data, id }: NodeProps<WorkflowNode>) {
  const type = useEditorStore((s) => s.catalog.get(data.type));
  const problems = useEditorStore((s) => s.problems.byNode.get(id));
  const run = useContext(RunOverlayContext)?.get(id);
  const pin = useContext(PinsContext)?.get(id);
  const ins = inputPorts(type);
  const outs = outputPorts(type, data);
  const rows = Math.max(ins.length, outs.length, 1);
  const title = data.name || type?.title || data.type;
  const status = run?.status;

  return (
    <div
      aria-label={`${title} (${id})${status ? `, ${status}` : ''}${pin ? ', output pinned' : ''}${problems ? `, ${problems.length} problem${problems.length > 1 ? 's' : ''}` : ''}`}
      className={clsx(
        'relative w-[240px] rounded-xl border-2 bg-white text-left dark:bg-zinc-900',
        problems ? 'border-red-500' : status ? STATUS_RING[status] : 'border-zinc-200 dark:border-zinc-700',
      )}
      data-node-id={id}
      data-pinned={pin ? 'true' : undefined}
      data-status={status}
      data-testid="workflow-node"
    >
      <div className="flex items-center gap-2.5 border-b border-zinc-100 px-3 py-2 dark:border-zinc-800">
        <NodeIcon category={type?.category ?? ''} icon={type?.icon ?? ''} />
        <div className="min-w-0 flex-1">
          <NodeTitle id={id} name={data.name} title={title} />
          <div className="cm-detail truncate font-mono text-[11px] text-zinc-500">
            {id}
            <span className="text-zinc-500 dark:text-zinc-400"> · {data.type}</span>
          </div>
        </div>
        {pin && (
          <span
            aria-label="Pinned output"
            className="inline-flex shrink-0 rounded-full bg-violet-100 p-1 text-violet-700 dark:bg-violet-950 dark:text-violet-300"
            data-testid="pin-badge"
            role="img"
            title={`Pinned output (port ${pin.port}): test runs use it instead of running the node; production runs never do`}
          >
            <Pin aria-hidden className="size-3" />
          </span>
        )}
        {(data.retry?.maxAttempts ?? 0) > 1 && (
          <span title={`Retries: up to ${data.retry?.maxAttempts} attempts`}>
            <RotateCcw aria-hidden className="size-3.5 text-zinc-400" />
          </span>
        )}
        {data.forEach && (
          <span title={`For each ${data.forEach}`}>
            <Repeat aria-hidden className="size-3.5 text-zinc-400" />
          </span>
        )}
      </div>

      <div className="relative py-1.5" style={{ height: rows * PORT_ROW + 12 }}>
        {ins.map((p, i) => (
          <div key={p.name} className="absolute left-0 flex items-center" style={{ top: 6 + i * PORT_ROW, height: PORT_ROW }}>
            <Handle aria-label={`Input ${p.name}`} id={p.name} position={Position.Left} role="img" type="target" />
            <span className="cm-detail pl-3 font-mono text-[11px] text-zinc-500" data-testid="port-label" title={portHint(p)}>
              {portLabel(p)}
            </span>
          </div>
        ))}
        {outs.map((p, i) => (
          <div key={p.name} className="absolute right-0 flex items-center" style={{ top: 6 + i * PORT_ROW, height: PORT_ROW }}>
            <span
              className={clsx(
                'cm-detail pr-3 text-[11px]',
                p.name === 'error' ? 'text-red-500' : 'text-zinc-500',
                run?.latest.port === p.name && 'font-semibold text-emerald-600 dark:text-emerald-400',
              )}
              data-testid="port-label"
              title={portHint(p)}
            >
              {portLabel(p)}
            </span>
            <Handle
              aria-label={`Output ${p.name}`}
              className={clsx(p.name === 'error' && '!border-red-500')}
              id={p.name}
              position={Position.Right}
              // A port is drawn, not operated by keyboard: img is the role that lets it carry its name.
              role="img"
              type="source"
            />
          </div>
        ))}
      </div>

      {problems && (
        <div
          className="flex items-start gap-1.5 border-t border-red-200 bg-red-50 px-3 py-1.5 text-[11px] text-red-700 dark:border-red-900 dark:bg-red-950/50 dark:text-red-300"
          data-testid="node-problem"
        >
          <TriangleExclamationPoint aria-hidden className="mt-px size-3 shrink-0" />
          <span className="cm-detail line-clamp-2">
            {problems[0]!.path.length > 0 && <b>{problemLabel(problems[0]!.path, type?.configSchema)}: </b>}
            {problems[0]!.message}
            {problems.length > 1 && ` (+${problems.length - 1} more)`}
          </span>
        </div>
      )}

      {run && (
        <div
          className={clsx(
            'absolute -top-3 right-2 flex items-center gap-1 rounded-full border bg-white px-2 py-0.5 text-[11px] font-medium shadow-sm dark:bg-zinc-900',
            STATUS_TEXT[run.status],
            'border-current/30',
          )}
          data-testid="node-status"
        >
          <StatusIcon status={run.status} />
          <span>{run.status}</span>
          {run.attempts > 1 && <span title="Attempt">· #{run.attempts}</span>}
          {run.durationMs !== undefined && <span className="text-zinc-500">· {formatDuration(run.durationMs)}</span>}
        </div>
      )}
    </div>
  );
});

/**
 * NodeTitle is a node's title; double-clicking it (or F2, or Rename in the node's menu) edits the
 * node's name in place: Enter or a click outside keeps it, Escape cancels, an empty name falls back to
 * the type's title.
 */
function NodeTitle({ id, name, title }: { id: string; name: string | undefined; title: string }) {
  const store = useEditorApi();
  const editing = useEditorStore((s) => s.editing === id && !s.readOnly);
  const readOnly = useEditorStore((s) => s.readOnly);
  const [draft, setDraft] = useState(title);
  // When an edit starts, the draft starts from the current title (state adjusted while rendering).
  const [wasEditing, setWasEditing] = useState(editing);
  if (editing !== wasEditing) {
    setWasEditing(editing);
    if (editing) setDraft(title);
  }
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (editing) requestAnimationFrame(() => input.current?.select());
  }, [editing]);
  const done = (keep: boolean) => {
    const s = store.getState();
    if (s.editing !== id) return;
    s.setEditing(null);
    const next = draft.trim();
    if (keep && next !== (name ?? '') && next !== title) s.updateNodeData(id, { name: next || undefined });
    // Focus goes back to the node, so that the keyboard carries on from it.
    requestAnimationFrame(() => document.querySelector<HTMLElement>(`.react-flow__node[data-id="${CSS.escape(id)}"]`)?.focus());
  };
  if (editing) {
    return (
      <input
        ref={input}
        aria-label="Node title"
        className="cm-editable nodrag w-full rounded border border-indigo-500 bg-white px-1 text-sm font-semibold outline-none dark:bg-zinc-900"
        maxLength={MAX_TITLE_LENGTH}
        onBlur={() => done(true)}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          e.stopPropagation();
          if (e.key === 'Enter') {
            e.preventDefault();
            done(true);
          } else if (e.key === 'Escape') {
            e.preventDefault();
            done(false);
          }
        }}
        value={draft}
      />
    );
  }
  return (
    <div
      className={clsx('cm-title truncate text-sm font-semibold', !readOnly && 'cm-editable')}
      data-testid="node-title"
      onDoubleClick={(e) => {
        if (store.getState().readOnly) return;
        e.stopPropagation();
        store.getState().setEditing(id);
      }}
      title={title}
    >
      {title}
    </div>
  );
}
