import clsx from 'clsx';
import { CircleCheck, CircleX, Puzzle, TriangleExclamationPoint } from 'lucide-react';
import type { ReactNode } from 'react';
import { Link } from 'react-router';

import { formatDateTime, formatRelative } from '@lib/format';
import { KIND_LABELS, type PluginFromAPI, type PluginProblemFromAPI, type PluginRuntimeFromAPI } from '@services/plugins';

/** count says "1 instance", "3 instances". */
function count(n: number | undefined, one: string, many = `${one}s`): string {
  const v = n ?? 0;
  return `${v} ${v === 1 ? one : many}`;
}

/** runtimeFacts describes a runtime in a few words: instances for WebAssembly, the process and its restarts for a process. */
export function runtimeFacts(kind: PluginFromAPI['kind'], rt: PluginRuntimeFromAPI): string[] {
  const facts: string[] = [];
  if (kind === 'process' || rt.mode === 'process') {
    facts.push(rt.running ? `running as pid ${rt.pid ?? '?'}` : 'not running');
    facts.push(count(rt.restarts, 'restart'));
    if (rt.inFlight) facts.push(`${rt.inFlight} in flight`);
  } else {
    if (rt.mode) facts.push(`${rt.mode} module`);
    facts.push(count(rt.instances, 'instance'));
  }
  facts.push(count(rt.failures, 'failure'));
  return facts;
}

/** PluginStatus is the Active / Refused pill of a plugin folder. */
export function PluginStatus({ status }: { status: PluginFromAPI['status'] }) {
  const active = status === 'active';
  return (
    <span
      className={clsx(
        'inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
        active
          ? 'bg-emerald-50 text-emerald-700 ring-emerald-200 dark:bg-emerald-950 dark:text-emerald-300 dark:ring-emerald-900'
          : 'bg-red-50 text-red-700 ring-red-200 dark:bg-red-950 dark:text-red-300 dark:ring-red-900',
      )}
      data-status={status}
      data-testid="plugin-status"
    >
      {active ? <CircleCheck aria-hidden className="size-3.5" /> : <CircleX aria-hidden className="size-3.5" />}
      {active ? 'Active' : 'Refused'}
    </span>
  );
}

/** Problem is one reason for a refusal: "/nodes/0/schema — the message"; a problem of the whole folder has no pointer. */
function Problem({ problem }: { problem: PluginProblemFromAPI }) {
  return (
    <li className="break-words whitespace-pre-wrap" data-testid="plugin-problem">
      {problem.pointer && (
        <>
          <code className="rounded bg-red-100/70 px-1 font-mono text-xs dark:bg-red-900/40">{problem.pointer}</code>
          {' — '}
        </>
      )}
      {problem.message}
    </li>
  );
}

/** Refusal says why the folder's content was refused and what serves meanwhile. */
function Refusal({ plugin }: { plugin: PluginFromAPI }) {
  const errors = plugin.errors ?? [];
  const what = plugin.refusedVersion ? `Version ${plugin.refusedVersion} was refused` : 'The folder’s content was refused';
  return (
    <div
      className="mt-3 rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
      data-testid="plugin-refusal"
    >
      <p className="flex items-start gap-1.5 font-medium">
        <TriangleExclamationPoint aria-hidden className="mt-0.5 size-4 shrink-0" />
        <span>
          {what}
          {plugin.refusedAt && (
            <>
              {' '}
              <span className="font-normal text-red-700/80 dark:text-red-300/80" title={formatDateTime(plugin.refusedAt)}>
                {formatRelative(plugin.refusedAt)}
              </span>
            </>
          )}
          {errors.length > 0 ? ':' : '.'}
        </span>
      </p>
      {errors.length > 0 && (
        <ul aria-label={`Why ${plugin.name} was refused`} className="mt-1.5 list-disc space-y-1 pl-6">
          {errors.map((p, i) => (
            <Problem key={`${p.pointer}:${i}`} problem={p} />
          ))}
        </ul>
      )}
      <p className="mt-2" data-testid="plugin-serving">
        {plugin.version ? `Version ${plugin.version} still serves.` : 'Nothing from this folder serves until it is fixed.'}
      </p>
    </div>
  );
}

function Fact({ children, label }: { children: ReactNode; label: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-zinc-500">{label}</dt>
      <dd className="mt-0.5 text-sm">{children}</dd>
    </div>
  );
}

/**
 * PluginCard shows one folder of the plugin directory: the version in service (name, version, kind,
 * author, node types linked to their documentation, when it loaded, its runtime, the replaced versions
 * kept for running executions) and, when the folder's content was refused, why.
 */
export function PluginCard({ plugin }: { plugin: PluginFromAPI }) {
  const serving = Boolean(plugin.version);
  const nodeTypes = plugin.nodeTypes ?? [];
  const retired = plugin.retired ?? [];
  const rt = plugin.runtime;
  // The kind and author are the version in service's: a folder refused before any version served has neither.
  const subtitle = [
    plugin.kind && KIND_LABELS[plugin.kind],
    plugin.author && `by ${plugin.author}`,
    plugin.folder !== plugin.name && `folder ${plugin.folder}`,
  ].filter((x): x is string => Boolean(x));
  return (
    <article
      aria-labelledby={`plugin-${plugin.folder}`}
      className="rounded-xl border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900"
      data-folder={plugin.folder}
      data-status={plugin.status}
      data-testid="plugin-card"
    >
      <header className="flex flex-wrap items-start gap-3">
        <span className="flex size-9 shrink-0 items-center justify-center rounded-lg bg-violet-100 text-violet-700 dark:bg-violet-950 dark:text-violet-300">
          <Puzzle aria-hidden className="size-5" />
        </span>
        <div className="min-w-0 flex-1">
          <h2 className="font-semibold" id={`plugin-${plugin.folder}`}>
            {plugin.name}
            {plugin.version && (
              <>
                {' '}
                <span className="ml-1 font-mono text-sm font-normal text-zinc-500">v{plugin.version}</span>
              </>
            )}
          </h2>
          {subtitle.length > 0 && <div className="text-xs text-zinc-500">{subtitle.join(' · ')}</div>}
        </div>
        <PluginStatus status={plugin.status} />
      </header>
      {plugin.description && <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-300">{plugin.description}</p>}
      {plugin.status === 'refused' && <Refusal plugin={plugin} />}
      {serving && (
        <dl className="mt-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
          <Fact label="Node types">
            {nodeTypes.length === 0 ? (
              <span className="text-zinc-500 dark:text-zinc-400">none</span>
            ) : (
              <ul className="flex flex-wrap gap-1">
                {nodeTypes.map((t) => (
                  <li key={t}>
                    <Link
                      className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs text-indigo-700 hover:underline dark:bg-zinc-800 dark:text-indigo-300"
                      data-testid="plugin-node-type"
                      title={`${t}: documentation and configuration`}
                      to={`/node-types?q=${encodeURIComponent(t)}`}
                    >
                      {t}
                    </Link>
                  </li>
                ))}
              </ul>
            )}
          </Fact>
          <Fact label="Loaded">
            <span title={formatDateTime(plugin.loadedAt)}>{formatRelative(plugin.loadedAt)}</span>
          </Fact>
          <Fact label="Runtime">
            <span data-testid="plugin-runtime">{runtimeFacts(plugin.kind, rt).join(' · ')}</span>
            {rt.lastError && (
              <span className="mt-0.5 block text-xs break-words text-red-700 dark:text-red-300" data-testid="plugin-last-error">
                Last error: {rt.lastError}
              </span>
            )}
          </Fact>
          <Fact label="Replaced versions kept">
            {retired.length === 0 ? (
              <span className="text-zinc-500 dark:text-zinc-400">none</span>
            ) : (
              <ul className="space-y-0.5" title="Kept loaded for the executions that started on them">
                {retired.map((r) => (
                  <li key={r} className="truncate font-mono text-xs" title={r}>
                    {r.split('#')[0]}
                  </li>
                ))}
              </ul>
            )}
          </Fact>
        </dl>
      )}
    </article>
  );
}
