import { useQuery } from '@tanstack/react-query';
import { ArrowRight, Blocks } from 'lucide-react';
import { useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';

import { JsonViewer } from '@components/JsonViewer';
import { Markdown } from '@components/Markdown';
import { NodeIcon } from '@components/NodeIcon';
import { PageHeader } from '@components/PageHeader';
import { PluginBadge } from '@components/PluginBadge';
import { SearchInput } from '@components/SearchInput';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { filterTypes, groupByCategory, nodeTypeQueries, type NodeTypeInfo, type Port } from '@services/nodeTypes';
import { useDocumentTitle } from '@hooks/use-document-title';

/**
 * NodeTypesPage lists every registered node type by category, with a search over type, title and
 * description that ?q= fills in (other pages link to a type that way): what each does, its ports, its
 * documentation (Markdown; open from the start when the search names the type exactly) and its
 * configuration schema. Types that plugins add carry a badge naming the plugin.
 */
export function NodeTypesPage() {
  useDocumentTitle('Node types');
  const types = useQuery(nodeTypeQueries.list());
  const [params] = useSearchParams();
  const [q, setQ] = useState(() => params.get('q') ?? '');
  const groups = useMemo(() => groupByCategory(filterTypes(types.data ?? [], q)), [types.data, q]);

  return (
    <div className="mx-auto max-w-6xl px-8 py-8" data-page="node-types">
      <PageHeader title="Node types">The steps a workflow can use: what each does, its ports, the configuration it takes and how it behaves.</PageHeader>
      <SearchInput className="mb-6 max-w-sm" label="Filter node types" onChange={setQ} placeholder="Filter by type, title or description…" value={q} />
      {types.isPending ? (
        <Spinner label="Loading node types…" />
      ) : types.isError ? (
        <ErrorState error={types.error} onRetry={() => types.refetch()} title="Node types could not be loaded" />
      ) : groups.length === 0 ? (
        <EmptyState icon={<Blocks className="size-8" />} title={q ? `No node type matches “${q}”` : 'No node types are registered'} />
      ) : (
        groups.map(([category, list]) => (
          <section key={category} aria-labelledby={`cat-${category}`} className="mb-8" data-testid="node-type-category">
            <h2 className="mb-3 text-sm font-semibold tracking-wide text-zinc-500 uppercase" id={`cat-${category}`}>
              {category} <span className="font-normal normal-case">({list.length})</span>
            </h2>
            <div className="grid items-start gap-4 md:grid-cols-2">
              {list.map((t) => (
                <NodeTypeCard key={t.type} named={q.trim() === t.type} t={t} />
              ))}
            </div>
          </section>
        ))
      )}
    </div>
  );
}

function Ports({ label, ports }: { label: string; ports: Port[] }) {
  return (
    <div>
      <div className="text-xs font-medium text-zinc-500">{label}</div>
      {ports.length === 0 ? (
        <div className="text-xs text-zinc-500 dark:text-zinc-400">none</div>
      ) : (
        <ul className="mt-1 flex flex-wrap gap-1">
          {ports.map((p) => (
            <li
              key={p.name}
              className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs dark:bg-zinc-800"
              title={p.description ? `${p.title}: ${p.description}` : p.title}
            >
              {p.name}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Docs renders a type's documentation once it is opened (35 types' Markdown is not parsed up front); it starts open when asked. */
function Docs({ initiallyOpen, t }: { initiallyOpen: boolean; t: NodeTypeInfo }) {
  const [open, setOpen] = useState(initiallyOpen);
  if (!t.docs) return <p className="mt-3 text-xs text-zinc-500 dark:text-zinc-400">No documentation yet.</p>;
  return (
    <details className="mt-3" onToggle={(e) => setOpen(e.currentTarget.open)} open={open}>
      <summary className="cursor-pointer text-sm font-medium text-indigo-600 dark:text-indigo-400">Documentation</summary>
      {open && <Markdown className="mt-2" label={`${t.type} documentation`} source={t.docs} />}
    </details>
  );
}

function NodeTypeCard({ named, t }: { named: boolean; t: NodeTypeInfo }) {
  return (
    <article
      className="flex flex-col rounded-xl border border-zinc-200 bg-white p-4 dark:border-zinc-800 dark:bg-zinc-900"
      data-testid="node-type-card"
      data-type={t.type}
      id={`type-${t.type}`}
    >
      <header className="flex items-start gap-3">
        <NodeIcon category={t.category} icon={t.icon} />
        <div className="min-w-0">
          <h3 className="font-semibold">{t.title}</h3>
          <div className="font-mono text-xs text-zinc-500">
            {t.type} · v{t.version}
            {t.trigger && <span className="ml-2 rounded bg-amber-100 px-1 text-amber-800 dark:bg-amber-950 dark:text-amber-300">trigger</span>}
            {t.plugin && <PluginBadge className="ml-2 align-text-bottom" plugin={t.plugin} />}
          </div>
        </div>
      </header>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-300">{t.description}</p>
      <div className="mt-3 flex items-start gap-3">
        <Ports label="Inputs" ports={t.inputs} />
        <ArrowRight aria-hidden className="mt-4 size-4 text-zinc-300" />
        <Ports label={t.dynamicPorts ? 'Outputs (one per case, plus these)' : 'Outputs'} ports={t.outputs} />
      </div>
      <Docs initiallyOpen={named} t={t} />
      <details className="mt-3">
        <summary className="cursor-pointer text-sm font-medium text-indigo-600 dark:text-indigo-400">Configuration schema</summary>
        <JsonViewer className="mt-2 max-h-96 overflow-auto" expandDepth={2} label={`${t.type} configuration schema`} value={t.configSchema} />
      </details>
    </article>
  );
}
