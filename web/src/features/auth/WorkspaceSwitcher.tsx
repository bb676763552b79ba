import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Check, ChevronsUpDown, Plus } from 'lucide-react';
import { useState } from 'react';
import { useNavigate } from 'react-router';

import { Button } from '@components/Button';
import { Dialog } from '@components/Dialog';
import { Field } from '@components/Field';
import { Menu, MenuItem } from '@components/Menu';
import { useMe } from '@hooks/use-me';
import { toast } from '@lib/toast';
import { errorMessage, fieldErrors, isApiError } from '@services/http';
import { createWorkspace, switchWorkspace } from '@services/identity';

/**
 * WorkspaceSwitcher lists the user's workspaces: choosing one swaps the token for that workspace,
 * drops what was cached for the other and opens its workflows. "New workspace" makes one and switches.
 */
export function WorkspaceSwitcher() {
  const me = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const switchTo = useMutation({
    mutationFn: (tenantId: string) => switchWorkspace(queryClient, tenantId),
    onError: (e) => toast.error(errorMessage(e), { title: 'Could not switch workspaces' }),
    onSuccess: () => navigate('/workflows'),
  });
  if (!me) return null;
  const tenants = me.tenants?.length ? me.tenants : [{ ...me.tenant, role: me.role }];
  return (
    <>
      <Menu
        label={
          <>
            <span className="max-w-56 truncate" data-testid="current-workspace">
              {me.tenant.name}
            </span>
            <ChevronsUpDown aria-hidden className="size-3.5 text-zinc-400" />
          </>
        }
        name={`Workspace: ${me.tenant.name}`}
      >
        {(close) => (
          <>
            <div className="px-2.5 pt-1 pb-1.5 text-xs font-medium text-zinc-500">Workspaces</div>
            {tenants.map((t) => (
              <MenuItem
                key={t.id}
                disabled={switchTo.isPending}
                icon={<Check aria-hidden className={t.id === me.tenant.id ? 'size-4 text-indigo-600' : 'size-4 opacity-0'} />}
                onSelect={() => {
                  close();
                  if (t.id !== me.tenant.id) switchTo.mutate(t.id);
                }}
                selected={t.id === me.tenant.id}
              >
                <span className="min-w-0 flex-1 truncate">{t.name}</span>
                <span className="text-xs font-normal text-zinc-500">{t.role}</span>
              </MenuItem>
            ))}
            {me.user && (
              <>
                <div className="my-1 h-px bg-zinc-200 dark:bg-zinc-700" />
                <MenuItem
                  icon={<Plus aria-hidden className="size-4" />}
                  onSelect={() => {
                    close();
                    setCreating(true);
                  }}
                >
                  New workspace
                </MenuItem>
              </>
            )}
          </>
        )}
      </Menu>
      {creating && (
        <NewWorkspaceDialog
          onClose={() => setCreating(false)}
          onCreated={async (id) => {
            setCreating(false);
            await switchTo.mutateAsync(id).catch(() => undefined);
          }}
        />
      )}
    </>
  );
}

function NewWorkspaceDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (id: string) => Promise<void> }) {
  const [name, setName] = useState('');
  const create = useMutation({
    meta: { inlineErrors: true },
    mutationFn: () => createWorkspace(name.trim()),
    onSuccess: async (t) => {
      toast.success(`Created “${t.name}”`);
      await onCreated(t.id);
    },
  });
  const err = create.error;
  const nameError = isApiError(err) ? (fieldErrors(err.problem).name ?? null) : null;
  return (
    <Dialog
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!name.trim() || create.isPending} form="new-workspace" type="submit" variant="primary">
            Create and switch
          </Button>
        </>
      }
      onClose={onClose}
      open
      title="New workspace"
    >
      <form
        className="space-y-3"
        id="new-workspace"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) create.mutate();
        }}
      >
        <p className="text-sm text-zinc-600 dark:text-zinc-300">A workspace has its own workflows, executions, members and API keys. You are its owner.</p>
        <Field autoFocus error={nameError} label="Name" maxLength={200} onChange={(e) => setName(e.target.value)} value={name} />
        {err && !nameError && (
          <p className="text-sm text-red-600" role="alert">
            {errorMessage(err)}
          </p>
        )}
      </form>
    </Dialog>
  );
}
