import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Copy, KeyRound, Plus, TriangleAlert } from 'lucide-react';
import { useState } from 'react';

import { Button } from '@components/Button';
import { ConfirmDialog } from '@components/ConfirmDialog';
import { Dialog } from '@components/Dialog';
import { Field, SelectField } from '@components/Field';
import { Pager } from '@components/Pager';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { useCursorPages } from '@hooks/use-cursor-pages';
import { useMe } from '@hooks/use-me';
import { formatDateTime, formatRelative } from '@lib/format';
import { toast } from '@lib/toast';
import { errorMessage, fieldErrors, isApiError } from '@services/http';
import { createApiKey, identityQueries, revokeApiKey, roleRank, ROLES, type ApiKeyFromAPI, type CreatedApiKeyFromAPI, type Role } from '@services/identity';
import { useDocumentTitle } from '@hooks/use-document-title';

/** keyStatus is a key's state now: revoked, expired or active. */
export function keyStatus(k: ApiKeyFromAPI, now = Date.now()): 'active' | 'expired' | 'revoked' {
  if (k.revokedAt) return 'revoked';
  if (k.expiresAt && Date.parse(k.expiresAt) <= now) return 'expired';
  return 'active';
}

/** expiryFromDate turns a date input's yyyy-mm-dd into the end of that day, local time, as RFC 3339. */
export function expiryFromDate(date: string): string | undefined {
  if (!date) return undefined;
  const d = new Date(`${date}T23:59:59`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/**
 * ApiKeysPage lists the workspace's API keys (revoked ones on demand), creates keys, showing the
 * secret once, and revokes them.
 */
export function ApiKeysPage() {
  useDocumentTitle('API keys');
  const me = useMe();
  const queryClient = useQueryClient();
  const pages = useCursorPages();
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const list = useQuery(identityQueries.apiKeys({ cursor: pages.cursor, includeRevoked }));
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKeyFromAPI | null>(null);
  const [revoking, setRevoking] = useState<ApiKeyFromAPI | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['api-keys'] });
  const revoke = useMutation({
    mutationFn: (k: ApiKeyFromAPI) => revokeApiKey(k.id),
    onError: (e) => toast.error(errorMessage(e), { title: 'Not revoked' }),
    onSettled: () => setRevoking(null),
    onSuccess: async () => {
      await invalidate();
      toast.success('API key revoked');
    },
  });
  const items = list.data?.items ?? [];
  return (
    <section aria-label="API keys" data-page="api-keys">
      <div className="mb-4 flex flex-wrap items-center justify-between gap-4">
        <label className="flex items-center gap-2 text-sm text-zinc-600 dark:text-zinc-300">
          <input
            checked={includeRevoked}
            onChange={(e) => {
              setIncludeRevoked(e.target.checked);
              pages.reset();
            }}
            type="checkbox"
          />
          Show revoked keys
        </label>
        <Button icon={<Plus className="size-4" />} onClick={() => setCreating(true)} variant="primary">
          Create API key
        </Button>
      </div>
      {list.isPending ? (
        <Spinner label="Loading API keys…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} title="API keys could not be loaded" />
      ) : items.length === 0 ? (
        <EmptyState icon={<KeyRound className="size-8" />} title="No API keys">
          Programs and scripts use an API key instead of a password: <code>Authorization: Bearer cm_ak_…</code>.
        </EmptyState>
      ) : (
        <div className="overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <table className="w-full text-left text-sm">
            <thead className="border-b border-zinc-200 bg-zinc-50 text-xs tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:bg-zinc-900/60">
              <tr>
                <th className="px-4 py-2.5 font-medium">Name</th>
                <th className="px-4 py-2.5 font-medium">Role</th>
                <th className="px-4 py-2.5 font-medium">Status</th>
                <th className="px-4 py-2.5 font-medium">Created</th>
                <th className="px-4 py-2.5 font-medium">Expires</th>
                <th className="px-4 py-2.5 font-medium">Last used</th>
                <th className="px-4 py-2.5 text-right font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className={list.isPlaceholderData ? 'opacity-60' : undefined}>
              {items.map((k) => {
                const status = keyStatus(k);
                return (
                  <tr key={k.id} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800" data-testid="api-key-row">
                    <td className="px-4 py-2.5 font-medium">{k.name}</td>
                    <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">{k.role}</td>
                    <td className="px-4 py-2.5">
                      <span
                        className={
                          status === 'active'
                            ? 'rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-800 dark:bg-emerald-950 dark:text-emerald-300'
                            : 'rounded-full bg-zinc-200 px-2 py-0.5 text-xs font-medium text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300'
                        }
                        data-testid="api-key-status"
                      >
                        {status}
                      </span>
                    </td>
                    <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400" title={`${formatDateTime(k.createdAt)} by ${k.createdBy}`}>
                      {formatRelative(k.createdAt)}
                    </td>
                    <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">{k.expiresAt ? formatDateTime(k.expiresAt) : 'never'}</td>
                    <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">{k.lastUsedAt ? formatRelative(k.lastUsedAt) : 'never'}</td>
                    <td className="px-2 py-2 text-right">
                      {status !== 'revoked' && (
                        <Button aria-label={`Revoke ${k.name}`} onClick={() => setRevoking(k)} size="sm" variant="ghost">
                          Revoke
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasNext={Boolean(list.data?.nextCursor)} onNext={() => pages.next(list.data?.nextCursor ?? null)} onPrev={pages.prev} page={pages.page} />

      {creating && (
        <CreateKeyDialog
          mine={me?.role}
          onClose={() => setCreating(false)}
          onCreated={async (k) => {
            setCreating(false);
            setCreated(k);
            await invalidate();
          }}
        />
      )}
      {created && <NewKeyDialog created={created} onClose={() => setCreated(null)} />}
      <ConfirmDialog
        busy={revoke.isPending}
        confirmLabel="Revoke"
        danger
        onCancel={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        open={revoking !== null}
        title={`Revoke “${revoking?.name ?? ''}”?`}
      >
        Programs using this key are refused from now on. This cannot be undone.
      </ConfirmDialog>
    </section>
  );
}

function CreateKeyDialog({ mine, onClose, onCreated }: { mine: Role | undefined; onClose: () => void; onCreated: (k: CreatedApiKeyFromAPI) => void }) {
  const roles = ROLES.filter((r) => roleRank(r) <= roleRank(mine));
  const [form, setForm] = useState({ expires: '', name: '', role: (roles.includes('editor') ? 'editor' : roles[0]) ?? 'viewer' });
  const create = useMutation({
    meta: { inlineErrors: true },
    mutationFn: () => createApiKey({ expiresAt: expiryFromDate(form.expires), name: form.name, role: form.role as Role }),
    onSuccess: onCreated,
  });
  const err = create.error;
  const byField = isApiError(err) ? fieldErrors(err.problem) : {};
  const general = err && !byField.name && !byField.role && !byField.expiresAt ? errorMessage(err) : null;
  const today = new Date();
  const min = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  return (
    <Dialog
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!form.name.trim() || create.isPending} form="create-key" type="submit" variant="primary">
            Create key
          </Button>
        </>
      }
      onClose={onClose}
      open
      title="Create API key"
    >
      <form
        className="space-y-3"
        id="create-key"
        onSubmit={(e) => {
          e.preventDefault();
          if (form.name.trim()) create.mutate();
        }}
      >
        {general && (
          <p className="text-sm text-red-600" role="alert">
            {general}
          </p>
        )}
        <Field
          autoFocus
          error={byField.name}
          hint="What uses it, e.g. “CI deploys”."
          label="Name"
          maxLength={100}
          onChange={(e) => setForm({ ...form, name: e.target.value })}
          value={form.name}
        />
        <SelectField label="Role" onChange={(v) => setForm({ ...form, role: v as Role })} value={form.role}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </SelectField>
        <Field
          error={byField.expiresAt}
          hint="Leave empty for a key that does not expire."
          label="Expires on (optional)"
          min={min}
          onChange={(e) => setForm({ ...form, expires: e.target.value })}
          type="date"
          value={form.expires}
        />
      </form>
    </Dialog>
  );
}

function NewKeyDialog({ created, onClose }: { created: CreatedApiKeyFromAPI; onClose: () => void }) {
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      toast.success('API key copied');
    } catch {
      toast.error('The browser did not allow copying: select the key and copy it.');
    }
  };
  return (
    <Dialog
      footer={
        <Button autoFocus onClick={onClose} variant="primary">
          I have saved the key
        </Button>
      }
      onClose={onClose}
      open
      title={`API key “${created.name}” created`}
    >
      <div className="space-y-3">
        <div
          className="flex items-start gap-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200"
          role="note"
        >
          <TriangleAlert aria-hidden className="mt-0.5 size-4 shrink-0" />
          <span>Copy the key now: this is the only time it is shown. Store it as a secret; anyone holding it acts as a {created.role} in this workspace.</span>
        </div>
        <div className="flex items-center gap-2">
          <code
            className="min-w-0 flex-1 rounded-md border border-zinc-200 bg-zinc-50 px-2 py-1.5 font-mono text-xs break-all select-all dark:border-zinc-700 dark:bg-zinc-950"
            data-testid="new-api-key"
          >
            {created.key}
          </code>
          <Button icon={<Copy className="size-4" />} onClick={() => void copy()}>
            Copy
          </Button>
        </div>
      </div>
    </Dialog>
  );
}
