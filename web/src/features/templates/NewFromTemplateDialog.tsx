import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ArrowLeft, LayoutTemplate } from 'lucide-react';
import { useId, useMemo, useState } from 'react';

import { Button } from '@components/Button';
import { CredentialTypeIcon } from '@components/CredentialTypeIcon';
import { Dialog } from '@components/Dialog';
import { FormError } from '@components/Field';
import { NodeIcon } from '@components/NodeIcon';
import { SearchInput } from '@components/SearchInput';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { CredentialPicker } from '@features/credentials/CredentialPicker';
import { credentialQueries } from '@services/credentials';
import { ApiError, errorMessage } from '@services/http';
import { nodeTypeQueries, toCatalog } from '@services/nodeTypes';
import { filterTemplates, instantiateTemplate, templateQueries, type TemplateFromAPI } from '@services/templates';
import { workflowQueries, type WorkflowFromAPI } from '@services/workflows';

/** NewFromTemplateDialogProps open the template gallery; onCreated gets the new workflow. */
export interface NewFromTemplateDialogProps {
  onClose: () => void;
  onCreated: (wf: WorkflowFromAPI) => void;
}

/**
 * NewFromTemplateDialog is "New from template": a gallery of the server's templates (name,
 * description, tags, the node types they use), then, for the chosen one, a name and one credential
 * per credential type it needs (picked or created on the spot), then the workflow is created.
 */
export function NewFromTemplateDialog({ onClose, onCreated }: NewFromTemplateDialogProps) {
  const [chosen, setChosen] = useState<TemplateFromAPI | null>(null);
  return (
    <Dialog
      className="w-[min(94vw,48rem)]"
      description={chosen ? chosen.description : 'Start from a workflow that already works, then adapt it.'}
      onClose={onClose}
      open
      title={chosen ? chosen.name : 'New from template'}
    >
      {chosen ? <TemplateSetup onBack={() => setChosen(null)} onCreated={onCreated} template={chosen} /> : <TemplateGallery onChoose={setChosen} />}
    </Dialog>
  );
}

function TemplateGallery({ onChoose }: { onChoose: (t: TemplateFromAPI) => void }) {
  const [q, setQ] = useState('');
  const list = useQuery(templateQueries.list());
  const nodeTypes = useQuery(nodeTypeQueries.list());
  const credTypes = useQuery(credentialQueries.types());
  const catalog = useMemo(() => toCatalog(nodeTypes.data ?? []), [nodeTypes.data]);
  const credTitles = useMemo(() => new Map((credTypes.data ?? []).map((t) => [t.name, t])), [credTypes.data]);
  const items = filterTemplates(list.data ?? [], q);
  if (list.isPending) return <Spinner label="Loading templates…" />;
  if (list.isError) return <ErrorState error={list.error} onRetry={() => list.refetch()} title="Templates could not be loaded" />;
  if ((list.data ?? []).length === 0) {
    return (
      <EmptyState icon={<LayoutTemplate className="size-8" />} title="No templates">
        This server offers no workflow templates.
      </EmptyState>
    );
  }
  return (
    <div className="space-y-3" data-testid="template-gallery">
      <SearchInput label="Search templates" onChange={setQ} placeholder="Search by name, tag or node…" value={q} />
      {items.length === 0 && <p className="py-6 text-center text-sm text-zinc-500">No template matches “{q}”.</p>}
      <ul className="grid gap-2 sm:grid-cols-2">
        {items.map((t) => (
          <li key={t.id}>
            <button
              className="flex h-full w-full flex-col gap-2 rounded-lg border border-zinc-200 p-3 text-left hover:border-indigo-400 hover:bg-indigo-50/40 focus-visible:border-indigo-500 dark:border-zinc-800 dark:hover:border-indigo-700 dark:hover:bg-indigo-950/20"
              data-template={t.id}
              onClick={() => onChoose(t)}
              type="button"
            >
              <span className="font-medium">{t.name}</span>
              <span className="line-clamp-3 text-xs text-zinc-600 dark:text-zinc-400">{t.description}</span>
              <span className="mt-auto flex flex-wrap items-center gap-1">
                {(t.nodeTypes ?? []).map((n) => {
                  const info = catalog.get(n);
                  return (
                    <span key={n} title={info?.title ?? n}>
                      <NodeIcon category={info?.category ?? ''} icon={info?.icon ?? ''} size="sm" />
                      <span className="sr-only">{info?.title ?? n}</span>
                    </span>
                  );
                })}
                {(t.credentialTypes ?? []).map((c) => (
                  <span key={`cred-${c}`} title={`Needs a ${credTitles.get(c)?.title ?? c} credential`}>
                    <CredentialTypeIcon icon={credTitles.get(c)?.icon} size="sm" />
                    <span className="sr-only">Needs a {credTitles.get(c)?.title ?? c} credential</span>
                  </span>
                ))}
              </span>
              {(t.tags ?? []).length > 0 && (
                <span className="flex flex-wrap gap-1">
                  {(t.tags ?? []).map((tag) => (
                    <span key={tag} className="rounded-full bg-zinc-100 px-2 py-0.5 text-[11px] text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300">
                      {tag}
                    </span>
                  ))}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

/**
 * templateCredentialErrors reads a 422 of instantiate into a message per credential type
 * (body.credentials.postgres, /credentials/postgres) and the rest.
 */
export function templateCredentialErrors(err: unknown): { byType: Record<string, string>; other: string } {
  const byType: Record<string, string> = {};
  if (!(err instanceof ApiError)) return { byType, other: err ? errorMessage(err) : '' };
  const rest: string[] = [];
  for (const e of err.problem?.errors ?? []) {
    const loc = (e.location ?? '')
      .replace(/^body\./, '')
      .replace(/^\/(body\/)?/, '')
      .replace(/\//g, '.');
    const m = /^credentials\.(.+)$/.exec(loc);
    if (m && !(m[1]! in byType)) byType[m[1]!] = e.message ?? 'invalid';
    else rest.push(e.message ?? '');
  }
  const other = rest.filter(Boolean).join('; ') || (Object.keys(byType).length === 0 ? errorMessage(err) : '');
  return { byType, other };
}

/** TemplateSetup names the new workflow and picks one credential per type the template needs. */
export function TemplateSetup({ onBack, onCreated, template }: { onBack: () => void; onCreated: (wf: WorkflowFromAPI) => void; template: TemplateFromAPI }) {
  const idBase = useId();
  const queryClient = useQueryClient();
  const credTypes = useQuery(credentialQueries.types());
  const needed = template.credentialTypes ?? [];
  const [name, setName] = useState(template.name);
  const [picked, setPicked] = useState<Record<string, string | undefined>>({});
  const create = useMutation({
    mutationFn: () => {
      const credentials: Record<string, string> = {};
      for (const t of needed) if (picked[t]) credentials[t] = picked[t]!;
      return instantiateTemplate(template.id, { credentials, name: name.trim() || undefined });
    },
    onSuccess: async (wf) => {
      await queryClient.invalidateQueries({ queryKey: workflowQueries.all() });
      onCreated(wf);
    },
  });
  const errs = templateCredentialErrors(create.error);
  const ready = needed.every((t) => picked[t]) && name.trim() !== '';
  return (
    <div className="space-y-4" data-testid="template-setup">
      <div>
        <label className="mb-1 block text-sm font-medium" htmlFor={`${idBase}-name`}>
          Workflow name
        </label>
        <input className="cm-input" id={`${idBase}-name`} maxLength={200} onChange={(e) => setName(e.target.value)} value={name} />
      </div>
      {needed.length > 0 ? (
        <fieldset className="space-y-3">
          <legend className="mb-1 text-sm font-medium">Credentials</legend>
          <p className="text-xs text-zinc-500 dark:text-zinc-400">The template’s nodes use these; choose one of each type, or create it here.</p>
          {needed.map((t) => {
            const type = (credTypes.data ?? []).find((x) => x.name === t);
            const id = `${idBase}-cred-${t}`;
            return (
              <div key={t} data-credential-type={t}>
                <label className="mb-1 flex items-center gap-2 text-sm" htmlFor={id}>
                  <CredentialTypeIcon icon={type?.icon} size="sm" />
                  {type?.title ?? t}
                </label>
                <CredentialPicker
                  id={id}
                  invalid={Boolean(errs.byType[t])}
                  onChange={(v) => setPicked((p) => ({ ...p, [t]: v }))}
                  types={[t]}
                  value={picked[t]}
                />
                {errs.byType[t] && <p className="mt-1 text-xs text-red-600 dark:text-red-400">{errs.byType[t]}</p>}
              </div>
            );
          })}
        </fieldset>
      ) : (
        <p className="text-sm text-zinc-500">This template needs no credentials.</p>
      )}
      {errs.other && <FormError>{errs.other}</FormError>}
      <div className="flex justify-between gap-2 border-t border-zinc-200 pt-3 dark:border-zinc-800">
        <Button icon={<ArrowLeft className="size-4" />} onClick={onBack} variant="ghost">
          All templates
        </Button>
        <Button disabled={!ready || create.isPending} onClick={() => create.mutate()} variant="primary">
          {create.isPending ? 'Creating…' : 'Create workflow'}
        </Button>
      </div>
    </div>
  );
}
