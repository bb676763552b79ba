import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import clsx from 'clsx';
import { CircleCheck, CircleX, Eye, FlaskConical, KeyRound, Pencil, Plus, Trash } from 'lucide-react';
import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';

import { Button } from '@components/Button';
import { CredentialTypeIcon } from '@components/CredentialTypeIcon';
import { Dialog } from '@components/Dialog';
import { FormError } from '@components/Field';
import { IconButton } from '@components/IconButton';
import { PageHeader } from '@components/PageHeader';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { CredentialDialog } from '@features/credentials/CredentialDialog';
import { useCan } from '@hooks/use-me';
import { formatRelative } from '@lib/format';
import { toast } from '@lib/toast';
import { credentialQueries, deleteCredential, testCredential, workflowsUsing, type CredentialFromAPI, type CredentialTestFromAPI } from '@services/credentials';
import { errorMessage } from '@services/http';
import { useDocumentTitle } from '@hooks/use-document-title';

type TestState = { pending: true } | ({ pending: false } & CredentialTestFromAPI);

/**
 * CredentialsPage lists the workspace's credentials (filtered by type with ?type=), and lets editors
 * create, edit, test and delete them; viewers read them (never a secret: the API does not send them).
 */
export function CredentialsPage() {
  useDocumentTitle('Credentials');
  const [params, setParams] = useSearchParams();
  const filter = params.get('type') ?? '';
  const canEdit = useCan('editor');
  const types = useQuery(credentialQueries.types());
  const list = useQuery(credentialQueries.list(filter ? [filter] : []));
  const typeOf = useMemo(() => new Map((types.data ?? []).map((t) => [t.name, t])), [types.data]);
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<CredentialFromAPI | null>(null);
  const [deleting, setDeleting] = useState<CredentialFromAPI | null>(null);
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const runTest = async (c: CredentialFromAPI) => {
    setTests((t) => ({ ...t, [c.id]: { pending: true } }));
    try {
      const r = await testCredential(c.id);
      setTests((t) => ({ ...t, [c.id]: { ...r, pending: false } }));
    } catch (e) {
      setTests((t) => ({ ...t, [c.id]: { message: errorMessage(e), ok: false, pending: false } }));
    }
  };
  const items = list.data ?? [];
  const filterTitle = filter ? (typeOf.get(filter)?.title ?? filter) : '';
  return (
    <div className="mx-auto max-w-6xl px-8 py-8" data-page="credentials" data-ready={list.isSuccess ? 'true' : undefined}>
      <PageHeader
        actions={
          canEdit && (
            <Button icon={<Plus className="size-4" />} onClick={() => setCreating(true)} variant="primary">
              New credential
            </Button>
          )
        }
        title="Credentials"
      >
        Passwords, tokens and keys that nodes use to reach databases, queues and APIs, stored encrypted.
      </PageHeader>

      <div className="mb-4 flex max-w-xs items-center gap-2">
        <label className="shrink-0 text-sm text-zinc-600 dark:text-zinc-300" htmlFor="credential-type-filter">
          Type
        </label>
        <select
          className="cm-input"
          id="credential-type-filter"
          onChange={(e) => setParams(e.target.value ? { type: e.target.value } : {}, { replace: true })}
          value={filter}
        >
          <option value="">All types</option>
          {(types.data ?? []).map((t) => (
            <option key={t.name} value={t.name}>
              {t.title}
            </option>
          ))}
        </select>
      </div>

      {list.isPending ? (
        <Spinner label="Loading credentials…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} title="Credentials could not be loaded" />
      ) : items.length === 0 ? (
        filter ? (
          <EmptyState icon={<KeyRound className="size-8" />} title={`No ${filterTitle} credential`}>
            Choose another type, or all types.
          </EmptyState>
        ) : (
          <EmptyState
            action={
              canEdit && (
                <Button onClick={() => setCreating(true)} variant="primary">
                  Create your first credential
                </Button>
              )
            }
            icon={<KeyRound className="size-8" />}
            title="No credentials yet"
          >
            A credential holds what a node needs to sign in somewhere — a database password, an API token, a broker login — encrypted on the server and never
            shown again. Nodes refer to it by name, so workflows never contain the secret itself, and one change here updates every workflow that uses it.
            {!canEdit && ' Your role lets you see which credentials exist; an editor creates them.'}
          </EmptyState>
        )
      ) : (
        <div className="overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <table className="w-full text-left text-sm">
            <thead className="border-b border-zinc-200 bg-zinc-50 text-xs tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:bg-zinc-900/60">
              <tr>
                <th className="px-4 py-2.5 font-medium">Name</th>
                <th className="px-4 py-2.5 font-medium">Type</th>
                <th className="px-4 py-2.5 font-medium">Updated</th>
                <th className="px-4 py-2.5 text-right font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className={list.isPlaceholderData ? 'opacity-60' : undefined}>
              {items.map((c) => {
                const type = typeOf.get(c.type);
                const test = tests[c.id];
                return (
                  <tr key={c.id} className="border-b border-zinc-100 align-top last:border-0 dark:border-zinc-800" data-testid="credential-row">
                    <td className="px-4 py-3">
                      <button
                        className="text-left font-medium text-zinc-900 hover:text-indigo-600 dark:text-zinc-100 dark:hover:text-indigo-400"
                        onClick={() => setOpen(c)}
                        type="button"
                      >
                        {c.name}
                      </button>
                      {test && (
                        <p
                          className={clsx(
                            'mt-1 flex items-start gap-1 text-xs',
                            test.pending ? 'text-zinc-500' : test.ok ? 'text-emerald-700 dark:text-emerald-400' : 'text-red-700 dark:text-red-400',
                          )}
                          data-ok={test.pending ? undefined : String(test.ok)}
                          data-testid="credential-test-result"
                          role="status"
                        >
                          {!test.pending &&
                            (test.ok ? (
                              <CircleCheck aria-hidden className="mt-px size-3.5 shrink-0" />
                            ) : (
                              <CircleX aria-hidden className="mt-px size-3.5 shrink-0" />
                            ))}
                          <span>{test.pending ? 'Testing…' : test.message || (test.ok ? 'It works.' : 'The test failed.')}</span>
                        </p>
                      )}
                    </td>
                    <td className="px-4 py-3">
                      <span className="inline-flex items-center gap-2 text-zinc-700 dark:text-zinc-300" data-type={c.type}>
                        <CredentialTypeIcon icon={type?.icon} size="sm" />
                        {type?.title ?? c.type}
                      </span>
                    </td>
                    <td className="px-4 py-3 text-zinc-600 dark:text-zinc-400" title={new Date(c.updatedAt).toLocaleString()}>
                      {formatRelative(c.updatedAt)}
                    </td>
                    <td className="px-2 py-2">
                      <div className="flex justify-end gap-0.5">
                        {canEdit ? (
                          <>
                            <Button
                              aria-label={`Test ${c.name}`}
                              disabled={test?.pending}
                              icon={<FlaskConical aria-hidden className="size-3.5" />}
                              onClick={() => void runTest(c)}
                              size="sm"
                              variant="ghost"
                            >
                              Test
                            </Button>
                            <IconButton label={`Edit ${c.name}`} onClick={() => setOpen(c)}>
                              <Pencil className="size-4" />
                            </IconButton>
                            <IconButton className="hover:text-red-600" label={`Delete ${c.name}`} onClick={() => setDeleting(c)}>
                              <Trash className="size-4" />
                            </IconButton>
                          </>
                        ) : (
                          <IconButton label={`View ${c.name}`} onClick={() => setOpen(c)}>
                            <Eye className="size-4" />
                          </IconButton>
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}

      {creating && <CredentialDialog onClose={() => setCreating(false)} />}
      {open && <CredentialDialog key={open.id} credential={open} onClose={() => setOpen(null)} readOnly={!canEdit} />}
      {deleting && <DeleteCredentialDialog credential={deleting} onClose={() => setDeleting(null)} />}
    </div>
  );
}

/**
 * DeleteCredentialDialog asks before deleting; when the server refuses (409: workflows use the
 * credential) it lists them, with links, instead.
 */
function DeleteCredentialDialog({ credential, onClose }: { credential: CredentialFromAPI; onClose: () => void }) {
  const queryClient = useQueryClient();
  const remove = useMutation({
    mutationFn: () => deleteCredential(credential.id),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: credentialQueries.all() });
      toast.success(`Deleted “${credential.name}”`);
      onClose();
    },
  });
  const users = workflowsUsing(remove.error);
  return (
    <Dialog
      footer={
        <>
          <Button onClick={onClose}>{users ? 'Done' : 'Cancel'}</Button>
          {!users && (
            <Button autoFocus disabled={remove.isPending} onClick={() => remove.mutate()} variant="danger">
              Delete
            </Button>
          )}
        </>
      }
      onClose={onClose}
      open
      title={`Delete “${credential.name}”?`}
    >
      {users ? (
        <div className="space-y-2 text-sm" data-testid="credential-in-use" role="alert">
          <p className="text-red-700 dark:text-red-300">
            {users.length === 1 ? 'A workflow uses' : `${users.length} workflows use`} this credential: change {users.length === 1 ? 'it' : 'them'} to use
            another one, then delete it.
          </p>
          <ul className="list-disc space-y-1 pl-5">
            {users.map((w) => (
              <li key={w.id}>
                <Link className="text-indigo-600 hover:underline dark:text-indigo-400" onClick={onClose} to={`/workflows/${w.id}`}>
                  {w.name}
                </Link>
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <div className="space-y-2 text-sm text-zinc-600 dark:text-zinc-300">
          <p>The credential and its secrets are removed for good. The server refuses while a workflow uses it.</p>
          {remove.isError && <FormError>{errorMessage(remove.error)}</FormError>}
        </div>
      )}
    </Dialog>
  );
}
