import { useQuery } from '@tanstack/react-query';
import { ReactFlowProvider, useReactFlow } from '@xyflow/react';
import clsx from 'clsx';
import { ArrowRight, RotateCcw } from 'lucide-react';
import { useId, useMemo, type ReactNode } from 'react';

import { Button } from '@components/Button';
import { Dialog } from '@components/Dialog';
import { Spinner } from '@components/States';
import { errorMessage } from '@services/http';
import type { Catalog } from '@services/nodeTypes';
import { toDefinition, workflowQueries } from '@services/workflows';

import { diffPicture, diffVersions, formatValue, type EdgeRef, type ValueChange, type VersionDiff } from '../versionDiff';
import { DiffCanvas, STATUS_LABEL } from './DiffCanvas';

/** VersionDiffDialogProps choose the two versions compared: a (from) and b (to). */
export interface VersionDiffDialogProps {
  a: number;
  b: number;
  catalog: Catalog;
  /** current is the version the editor holds; it cannot be restored, being there already. */
  current: number;
  onChange: (a: number, b: number) => void;
  onClose: () => void;
  /** onRestore is offered for version a when given (editors and above). */
  onRestore?: (version: number) => void;
  /** versions lists the version numbers that can be picked, newest first. */
  versions: number[];
  workflowId: string;
}

/**
 * VersionDiffDialog shows what changed from version a to version b: a list grouped by kind next to a
 * read-only canvas where added, removed, changed and moved nodes are coloured.
 */
export function VersionDiffDialog({ a, b, catalog, current, onChange, onClose, onRestore, versions, workflowId }: VersionDiffDialogProps) {
  const va = useQuery(workflowQueries.version(workflowId, a));
  const vb = useQuery(workflowQueries.version(workflowId, b));
  const fromId = useId();
  const toId = useId();
  const options = useMemo(() => [...new Set([...versions, a, b])].sort((x, y) => y - x), [versions, a, b]);
  const diff = useMemo(
    () => (va.data && vb.data ? diffVersions(toDefinition(va.data.definition), toDefinition(vb.data.definition)) : null),
    [va.data, vb.data],
  );
  const picture = useMemo(() => (diff && vb.data ? diffPicture(toDefinition(vb.data.definition), diff) : null), [diff, vb.data]);
  const error = va.error ?? vb.error;
  const label = (v: number) => `Version ${v}${v === current ? ' (current)' : ''}`;

  return (
    <Dialog
      className="w-[min(96vw,90rem)]"
      footer={
        <>
          <Button onClick={onClose}>Close</Button>
          {onRestore && a !== current && (
            <Button icon={<RotateCcw aria-hidden className="size-4" />} onClick={() => onRestore(a)} variant="primary">
              Restore version {a}
            </Button>
          )}
        </>
      }
      onClose={onClose}
      open
      title={`Changes from version ${a} to version ${b}`}
    >
      <div className="mb-3 flex flex-wrap items-end gap-3 text-sm">
        <div>
          <label className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-300" htmlFor={fromId}>
            From
          </label>
          <select className="cm-input w-44" id={fromId} onChange={(e) => onChange(Number(e.target.value), b)} value={a}>
            {options.map((v) => (
              <option key={v} value={v}>
                {label(v)}
              </option>
            ))}
          </select>
        </div>
        <ArrowRight aria-hidden className="mb-2 size-4 text-zinc-400" />
        <div>
          <label className="mb-1 block text-xs font-medium text-zinc-600 dark:text-zinc-300" htmlFor={toId}>
            To
          </label>
          <select className="cm-input w-44" id={toId} onChange={(e) => onChange(a, Number(e.target.value))} value={b}>
            {options.map((v) => (
              <option key={v} value={v}>
                {label(v)}
              </option>
            ))}
          </select>
        </div>
        {diff && <DiffSummary diff={diff} />}
      </div>
      {error ? (
        <p className="text-sm text-red-600 dark:text-red-400" role="alert">
          Could not read the versions: {errorMessage(error)}
        </p>
      ) : !diff || !picture ? (
        <Spinner label="Reading both versions…" />
      ) : (
        <ReactFlowProvider>
          <div className="flex h-[62vh] min-h-80 gap-3">
            <div aria-label="Changes" className="w-[26rem] shrink-0 overflow-auto pr-1" data-testid="diff-list" role="region">
              <DiffList diff={diff} />
            </div>
            <div className="relative min-w-0 flex-1 overflow-hidden rounded-lg border border-zinc-200 dark:border-zinc-700" data-testid="diff-canvas">
              <DiffCanvas key={`${a}-${b}`} catalog={catalog} picture={picture} workflowId={workflowId} />
              <Legend />
            </div>
          </div>
        </ReactFlowProvider>
      )}
    </Dialog>
  );
}

function DiffSummary({ diff }: { diff: VersionDiff }) {
  if (diff.empty) return <p className="mb-2 text-zinc-600 dark:text-zinc-300">No differences.</p>;
  const parts: string[] = [];
  const count = (n: number, what: string) => n > 0 && parts.push(`${n} ${what}`);
  count(diff.added.length, 'added');
  count(diff.removed.length, 'removed');
  count(diff.changed.length, 'changed');
  count(diff.edgesAdded.length + diff.edgesRemoved.length, diff.edgesAdded.length + diff.edgesRemoved.length === 1 ? 'edge' : 'edges');
  if (diff.workflow.length > 0) parts.push('workflow settings');
  return (
    <p className="mb-2 text-zinc-600 dark:text-zinc-300" data-testid="diff-summary">
      {parts.join(' · ')}
    </p>
  );
}

const LEGEND_SWATCH: Record<keyof typeof STATUS_LABEL, string> = {
  added: 'border-emerald-500',
  changed: 'border-amber-500',
  moved: 'border-dotted border-sky-500',
  removed: 'border-dashed border-red-500',
};

function Legend() {
  return (
    <ul
      aria-label="Legend"
      className="absolute top-2 left-2 z-10 flex gap-3 rounded-md bg-white/90 px-2 py-1 text-xs text-zinc-600 shadow-sm dark:bg-zinc-900/90 dark:text-zinc-300"
    >
      {(Object.keys(STATUS_LABEL) as (keyof typeof STATUS_LABEL)[]).map((k) => (
        <li key={k} className="flex items-center gap-1">
          <span aria-hidden className={clsx('inline-block size-3 rounded-sm border-2', LEGEND_SWATCH[k])} />
          {STATUS_LABEL[k]}
        </li>
      ))}
    </ul>
  );
}

function Group({ children, count, kind, title }: { children: ReactNode; count: number; kind: string; title: string }) {
  const id = useId();
  if (count === 0) return null;
  return (
    <section aria-labelledby={id} className="mb-4" data-kind={kind} data-testid="diff-group">
      <h3 className="mb-1 text-xs font-semibold tracking-wide text-zinc-500 uppercase dark:text-zinc-400" id={id}>
        {title} ({count})
      </h3>
      <ul className="space-y-1 text-sm">{children}</ul>
    </section>
  );
}

/** NodeLink shows a node's id; pressing it centres the node on the diff canvas. */
function NodeLink({ id, suffix }: { id: string; suffix?: ReactNode }) {
  const { fitView } = useReactFlow();
  return (
    <button
      className="rounded px-1 text-left font-mono text-xs font-semibold hover:bg-zinc-100 dark:hover:bg-zinc-800"
      onClick={() => void fitView({ duration: 250, maxZoom: 1.2, nodes: [{ id }] })}
      title="Show on the canvas"
      type="button"
    >
      {id}
      {suffix}
    </button>
  );
}

function Values({ changes, truncated }: { changes: ValueChange[]; truncated?: boolean }) {
  return (
    <dl className="mt-1 space-y-1.5 pl-2" data-testid="value-changes">
      {changes.map((c) => (
        <div key={c.path}>
          <dt className="font-mono text-xs text-zinc-600 dark:text-zinc-300">{c.path}</dt>
          <dd className="flex items-start gap-1.5 text-xs">
            <pre className="max-h-32 min-w-0 flex-1 overflow-auto rounded bg-red-50 px-1.5 py-1 break-all whitespace-pre-wrap text-red-800 dark:bg-red-950/50 dark:text-red-200">
              <span className="sr-only">Before: </span>
              {formatValue(c.before)}
            </pre>
            <ArrowRight aria-hidden className="mt-1 size-3 shrink-0 text-zinc-400" />
            <pre className="max-h-32 min-w-0 flex-1 overflow-auto rounded bg-emerald-50 px-1.5 py-1 break-all whitespace-pre-wrap text-emerald-800 dark:bg-emerald-950/50 dark:text-emerald-200">
              <span className="sr-only">After: </span>
              {formatValue(c.after)}
            </pre>
          </dd>
        </div>
      ))}
      {truncated && <p className="text-xs text-zinc-600 dark:text-zinc-400">More values changed than are listed here.</p>}
    </dl>
  );
}

function edgeText(e: EdgeRef): string {
  return `${e.source}.${e.sourcePort} → ${e.target}.${e.targetPort}`;
}

/** NodesGroup lists nodes added or removed: id (a link to the canvas) and type. */
function NodesGroup({ kind, nodes, title }: { kind: string; nodes: readonly { id: string; type: string }[]; title: string }) {
  return (
    <Group count={nodes.length} kind={kind} title={title}>
      {nodes.map((n) => (
        <li key={n.id}>
          <NodeLink id={n.id} /> <span className="text-xs text-zinc-600 dark:text-zinc-400">{n.type}</span>
        </li>
      ))}
    </Group>
  );
}

/** ValuesGroup lists the nodes whose values changed, each with its changes before and after. */
function ValuesGroup({ kind, rows, title }: { kind: string; rows: { changes: ValueChange[]; id: string; truncated?: boolean }[]; title: string }) {
  return (
    <Group count={rows.length} kind={kind} title={title}>
      {rows.map((r) => (
        <li key={r.id}>
          <NodeLink id={r.id} />
          <Values changes={r.changes} truncated={r.truncated} />
        </li>
      ))}
    </Group>
  );
}

/** EdgesGroup lists connections added or removed as source.port → target.port. */
function EdgesGroup({ edges, kind, title }: { edges: readonly EdgeRef[]; kind: string; title: string }) {
  return (
    <Group count={edges.length} kind={kind} title={title}>
      {edges.map((e) => (
        <li key={e.id} className="font-mono text-xs">
          {edgeText(e)}
        </li>
      ))}
    </Group>
  );
}

/** DiffList lists the changes from A to B grouped by kind. */
export function DiffList({ diff }: { diff: VersionDiff }) {
  if (diff.empty) return <p className="text-sm text-zinc-600 dark:text-zinc-300">Both versions hold the same workflow.</p>;
  const renamed = diff.changed.filter((c) => c.rename);
  const retyped = diff.changed.filter((c) => c.typeBefore);
  const config = diff.changed.filter((c) => c.config.length > 0);
  const settings = diff.changed.filter((c) => c.settings.length > 0);
  const moved = diff.changed.filter((c) => c.move);
  const pos = (p?: { x: number; y: number }) => (p ? `(${Math.round(p.x)}, ${Math.round(p.y)})` : '(none)');
  return (
    <>
      <NodesGroup kind="added" nodes={diff.added} title="Nodes added" />
      <NodesGroup kind="removed" nodes={diff.removed} title="Nodes removed" />
      <Group count={renamed.length} kind="renamed" title="Renamed">
        {renamed.map((c) => (
          <li key={c.id} className="text-xs">
            {c.rename!.idBefore !== c.id && (
              <span className="font-mono">
                {c.rename!.idBefore} → <NodeLink id={c.id} />
              </span>
            )}
            {(c.rename!.nameBefore !== undefined || c.rename!.nameAfter !== undefined) && (
              <span className="block">
                {c.rename!.idBefore === c.id && <NodeLink id={c.id} />} title “{c.rename!.nameBefore ?? ''}” → “{c.rename!.nameAfter ?? ''}”
              </span>
            )}
          </li>
        ))}
      </Group>
      <Group count={retyped.length} kind="type" title="Type changed">
        {retyped.map((c) => (
          <li key={c.id} className="text-xs">
            <NodeLink id={c.id} /> {c.typeBefore} → {c.type}
          </li>
        ))}
      </Group>
      <ValuesGroup kind="config" rows={config.map((c) => ({ changes: c.config, id: c.id, truncated: c.configTruncated }))} title="Configuration changed" />
      <ValuesGroup kind="settings" rows={settings.map((c) => ({ changes: c.settings, id: c.id }))} title="Node settings changed" />
      <Group count={moved.length} kind="moved" title="Moved">
        {moved.map((c) => (
          <li key={c.id} className="text-xs">
            <NodeLink id={c.id} /> {pos(c.move!.from)} → {pos(c.move!.to)}
          </li>
        ))}
      </Group>
      <EdgesGroup edges={diff.edgesAdded} kind="edges-added" title="Edges added" />
      <EdgesGroup edges={diff.edgesRemoved} kind="edges-removed" title="Edges removed" />
      <Group count={diff.workflow.length} kind="workflow" title="Workflow">
        <li>
          <Values changes={diff.workflow} />
        </li>
      </Group>
    </>
  );
}
