import { useMutation, useQueryClient } from '@tanstack/react-query';
import { KeyRound, LogOut, UserRound } from 'lucide-react';
import { useState } from 'react';
import { useNavigate } from 'react-router';

import { Button } from '@components/Button';
import { Dialog } from '@components/Dialog';
import { Field } from '@components/Field';
import { Menu, MenuItem } from '@components/Menu';
import { useMe } from '@hooks/use-me';
import { toast } from '@lib/toast';
import { errorMessage, fieldErrors, isApiError } from '@services/http';
import { changePassword, signOut } from '@services/identity';

/** UserMenu shows who is signed in and their role, and offers changing the password and logging out. */
export function UserMenu() {
  const me = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [changing, setChanging] = useState(false);
  if (!me) return null;
  const who = me.user ? me.user.name || me.user.email : 'API key';
  return (
    <>
      <Menu
        align="right"
        label={
          <>
            <UserRound aria-hidden className="size-4" />
            {/* Part of the name, so that the name holds the visible text too (WCAG 2.5.3, label in name). */}
            <span className="sr-only">User menu: </span>
            <span className="max-w-48 truncate">{who}</span>
            <span
              className="rounded-full bg-zinc-100 px-1.5 py-0.5 text-[11px] font-medium text-zinc-600 dark:bg-zinc-800 dark:text-zinc-300"
              data-testid="my-role"
            >
              {me.role}
            </span>
          </>
        }
      >
        {(close) => (
          <>
            <div className="border-b border-zinc-200 px-2.5 pt-1 pb-2 dark:border-zinc-700">
              {me.user ? (
                <>
                  <div className="text-sm font-medium">{me.user.name || me.user.email}</div>
                  {me.user.name && <div className="text-xs text-zinc-500">{me.user.email}</div>}
                </>
              ) : (
                <div className="text-sm font-medium">{who}</div>
              )}
              <div className="mt-1 text-xs text-zinc-500">
                {me.role} in {me.tenant.name}
              </div>
            </div>
            <div className="pt-1">
              {me.user && (
                <MenuItem
                  icon={<KeyRound aria-hidden className="size-4" />}
                  onSelect={() => {
                    close();
                    setChanging(true);
                  }}
                >
                  Change password
                </MenuItem>
              )}
              <MenuItem
                icon={<LogOut aria-hidden className="size-4" />}
                onSelect={async () => {
                  close();
                  await signOut(queryClient);
                  navigate('/login', { replace: true });
                }}
              >
                Log out
              </MenuItem>
            </div>
          </>
        )}
      </Menu>
      {changing && <ChangePasswordDialog onClose={() => setChanging(false)} />}
    </>
  );
}

function ChangePasswordDialog({ onClose }: { onClose: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const change = useMutation({
    meta: { inlineErrors: true },
    mutationFn: () => changePassword(current, next),
    onSuccess: () => {
      toast.success('Password changed');
      onClose();
    },
  });
  const byField = isApiError(change.error) ? fieldErrors(change.error.problem) : {};
  const mismatch = repeat !== '' && repeat !== next ? 'The two new passwords differ.' : null;
  const currentError =
    byField.currentPassword ?? (isApiError(change.error, 401) || isApiError(change.error, 403) ? 'The current password is not right.' : null);
  const general = change.error && !byField.currentPassword && !byField.newPassword && !currentError ? errorMessage(change.error) : null;
  return (
    <Dialog
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!current || !next || next !== repeat || change.isPending} form="change-password" type="submit" variant="primary">
            Change password
          </Button>
        </>
      }
      onClose={onClose}
      open
      title="Change password"
    >
      <form
        className="space-y-3"
        id="change-password"
        onSubmit={(e) => {
          e.preventDefault();
          if (current && next && next === repeat) change.mutate();
        }}
      >
        {general && (
          <p className="text-sm text-red-600" role="alert">
            {general}
          </p>
        )}
        <Field
          autoComplete="current-password"
          autoFocus
          error={currentError}
          label="Current password"
          onChange={(e) => setCurrent(e.target.value)}
          type="password"
          value={current}
        />
        <Field
          autoComplete="new-password"
          error={byField.newPassword}
          label="New password"
          onChange={(e) => setNext(e.target.value)}
          type="password"
          value={next}
        />
        <Field
          autoComplete="new-password"
          error={mismatch}
          label="New password, again"
          onChange={(e) => setRepeat(e.target.value)}
          type="password"
          value={repeat}
        />
      </form>
    </Dialog>
  );
}
