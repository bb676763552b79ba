import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Trash, UserPlus, Users } from 'lucide-react';
import { useState } from 'react';

import { Button } from '@components/Button';
import { ConfirmDialog } from '@components/ConfirmDialog';
import { Dialog } from '@components/Dialog';
import { Field, SelectField } from '@components/Field';
import { IconButton } from '@components/IconButton';
import { Pager } from '@components/Pager';
import { EmptyState, ErrorState, Spinner } from '@components/States';
import { useCursorPages } from '@hooks/use-cursor-pages';
import { useMe } from '@hooks/use-me';
import { formatRelative } from '@lib/format';
import { toast } from '@lib/toast';
import { errorMessage, fieldErrors, isApiError } from '@services/http';
import { addMember, changeMemberRole, identityQueries, removeMember, ROLES, type MemberFromAPI, type Role } from '@services/identity';
import { useDocumentTitle } from '@hooks/use-document-title';

/** grantable is the roles a user with role `mine` may give: every role, owner only by an owner. */
export function grantable(mine: Role | undefined): Role[] {
  return ROLES.filter((r) => r !== 'owner' || mine === 'owner');
}

/**
 * MembersPage lists the workspace's members and lets an admin add people, change roles and remove
 * members. Nobody edits their own row; only an owner grants or changes the owner role.
 */
export function MembersPage() {
  useDocumentTitle('Members');
  const me = useMe();
  const pages = useCursorPages();
  const queryClient = useQueryClient();
  const list = useQuery(identityQueries.members({ cursor: pages.cursor }));
  const [adding, setAdding] = useState(false);
  const [roleChange, setRoleChange] = useState<{ member: MemberFromAPI; role: Role } | null>(null);
  const [removing, setRemoving] = useState<MemberFromAPI | null>(null);
  const invalidate = () => queryClient.invalidateQueries({ queryKey: ['members'] });

  const setRole = useMutation({
    mutationFn: ({ member, role }: { member: MemberFromAPI; role: Role }) => changeMemberRole(member.userId, role),
    onError: (e) => toast.error(errorMessage(e), { title: 'Role not changed' }),
    onSettled: () => setRoleChange(null),
    onSuccess: async (m) => {
      await invalidate();
      toast.success(`${m.name || m.email} is now ${m.role}`);
    },
  });
  const remove = useMutation({
    mutationFn: (m: MemberFromAPI) => removeMember(m.userId),
    onError: (e) => toast.error(errorMessage(e), { title: 'Not removed' }),
    onSettled: () => setRemoving(null),
    onSuccess: async () => {
      await invalidate();
      toast.success('Member removed');
    },
  });

  const myId = me?.user?.id;
  const owner = me?.role === 'owner';
  const items = list.data?.items ?? [];
  return (
    <section aria-label="Members" data-page="members">
      <div className="mb-4 flex items-center justify-between gap-4">
        <p className="text-sm text-zinc-500">Viewers read, editors build and run workflows, admins manage members and keys, owners everything.</p>
        <Button icon={<UserPlus className="size-4" />} onClick={() => setAdding(true)} variant="primary">
          Add member
        </Button>
      </div>
      {list.isPending ? (
        <Spinner label="Loading members…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => list.refetch()} title="Members could not be loaded" />
      ) : items.length === 0 ? (
        <EmptyState icon={<Users className="size-8" />} title="No members" />
      ) : (
        <div className="overflow-hidden rounded-xl border border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
          <table className="w-full text-left text-sm">
            <thead className="border-b border-zinc-200 bg-zinc-50 text-xs tracking-wide text-zinc-500 uppercase dark:border-zinc-800 dark:bg-zinc-900/60">
              <tr>
                <th className="px-4 py-2.5 font-medium">Name</th>
                <th className="px-4 py-2.5 font-medium">E-mail</th>
                <th className="px-4 py-2.5 font-medium">Role</th>
                <th className="px-4 py-2.5 font-medium">Added</th>
                <th className="px-4 py-2.5 text-right font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className={list.isPlaceholderData ? 'opacity-60' : undefined}>
              {items.map((m) => {
                const self = m.userId === myId;
                // An admin can neither change an owner nor make one.
                const locked = self || (m.role === 'owner' && !owner);
                const label = m.name || m.email;
                return (
                  <tr key={m.userId} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800" data-testid="member-row">
                    <td className="px-4 py-2.5 font-medium">
                      {m.name || '—'}
                      {self && <span className="ml-2 text-xs font-normal text-zinc-500">(you)</span>}
                      {m.disabled && <span className="ml-2 rounded bg-zinc-200 px-1.5 py-0.5 text-xs font-normal dark:bg-zinc-700">disabled</span>}
                    </td>
                    <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400">{m.email}</td>
                    <td className="px-4 py-2.5">
                      {locked ? (
                        <span className="text-zinc-600 dark:text-zinc-300" title={self ? 'Nobody changes their own role' : 'Only an owner changes an owner'}>
                          {m.role}
                        </span>
                      ) : (
                        <select
                          aria-label={`Role of ${label}`}
                          className="cm-input w-32 py-1"
                          disabled={setRole.isPending}
                          onChange={(e) => setRoleChange({ member: m, role: e.target.value as Role })}
                          value={m.role}
                        >
                          {grantable(me?.role).map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      )}
                    </td>
                    <td className="px-4 py-2.5 text-zinc-600 dark:text-zinc-400" title={new Date(m.createdAt).toLocaleString()}>
                      {formatRelative(m.createdAt)}
                    </td>
                    <td className="px-2 py-2 text-right">
                      {!locked && (
                        <IconButton className="hover:text-red-600" label={`Remove ${label}`} onClick={() => setRemoving(m)}>
                          <Trash className="size-4" />
                        </IconButton>
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

      {adding && (
        <AddMemberDialog
          mine={me?.role}
          onAdded={async (m) => {
            setAdding(false);
            await invalidate();
            toast.success(`Added ${m.name || m.email} as ${m.role}`);
          }}
          onClose={() => setAdding(false)}
        />
      )}
      <ConfirmDialog
        busy={setRole.isPending}
        confirmLabel="Change role"
        onCancel={() => setRoleChange(null)}
        onConfirm={() => roleChange && setRole.mutate(roleChange)}
        open={roleChange !== null}
        title={`Make ${roleChange?.member.name || roleChange?.member.email || ''} ${roleChange?.role ?? ''}?`}
      >
        The new role applies to their next request.
      </ConfirmDialog>
      <ConfirmDialog
        busy={remove.isPending}
        confirmLabel="Remove"
        danger
        onCancel={() => setRemoving(null)}
        onConfirm={() => removing && remove.mutate(removing)}
        open={removing !== null}
        title={`Remove ${removing?.name || removing?.email || ''}?`}
      >
        They lose access to this workspace at once. Their account and other workspaces stay.
      </ConfirmDialog>
    </section>
  );
}

function AddMemberDialog({ mine, onAdded, onClose }: { mine: Role | undefined; onAdded: (m: MemberFromAPI) => void; onClose: () => void }) {
  const [form, setForm] = useState({ email: '', name: '', password: '', role: 'editor' as Role });
  const add = useMutation({
    meta: { inlineErrors: true },
    mutationFn: () => addMember(form),
    onSuccess: onAdded,
  });
  const err = add.error;
  const byField = isApiError(err) ? fieldErrors(err.problem) : {};
  const general =
    err && !byField.email && !byField.password && !byField.role
      ? isApiError(err, 404)
        ? `No user has the e-mail ${form.email.trim()}: give an initial password to create them.`
        : errorMessage(err)
      : null;
  return (
    <Dialog
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!form.email.trim() || add.isPending} form="add-member" type="submit" variant="primary">
            Add member
          </Button>
        </>
      }
      onClose={onClose}
      open
      title="Add member"
    >
      <form
        className="space-y-3"
        id="add-member"
        onSubmit={(e) => {
          e.preventDefault();
          if (form.email.trim()) add.mutate();
        }}
      >
        {general && (
          <p className="text-sm text-red-600" role="alert">
            {general}
          </p>
        )}
        <Field autoFocus error={byField.email} label="E-mail" onChange={(e) => setForm({ ...form, email: e.target.value })} type="email" value={form.email} />
        <SelectField label="Role" onChange={(v) => setForm({ ...form, role: v as Role })} value={form.role}>
          {grantable(mine).map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </SelectField>
        <Field
          error={byField.name}
          hint="For a new user."
          label="Name (optional)"
          onChange={(e) => setForm({ ...form, name: e.target.value })}
          value={form.name}
        />
        <Field
          autoComplete="new-password"
          error={byField.password}
          hint="Creates the user when nobody has this e-mail yet; tell them to change it."
          label="Initial password (optional)"
          onChange={(e) => setForm({ ...form, password: e.target.value })}
          type="password"
          value={form.password}
        />
      </form>
    </Dialog>
  );
}
