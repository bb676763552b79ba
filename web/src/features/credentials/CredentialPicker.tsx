import { useQuery } from '@tanstack/react-query';
import { useId, useMemo, useState } from 'react';
import { Link } from 'react-router';

import { useCan } from '@hooks/use-me';
import { shortId } from '@lib/format';
import { credentialQueries } from '@services/credentials';

import { CredentialDialog } from './CredentialDialog';

/** CREATE_NEW is the value of the picker's "Create new credential…" choice. */
export const CREATE_NEW = '\u0000new';

/** CredentialPickerProps bind a picker to a credential id. */
export interface CredentialPickerProps {
  disabled?: boolean;
  /** id is the select's id, for an outside label. */
  id?: string;
  invalid?: boolean;
  /** label names the select when it has no outside label. */
  label?: string;
  onChange: (credentialId: string | undefined) => void;
  /** types are the credential types that fit (a node property's x-credentialTypes). */
  types: readonly string[];
  value: string | undefined;
}

/**
 * CredentialPicker chooses one of the workspace's credentials of the given types (listed by name and
 * type), or creates one: "Create new credential…" opens the create dialog (its type chosen already,
 * or a choice among types when several fit) and selects what it saved. A chosen id that is not
 * (or no longer) among the workspace's credentials is kept, and said to be missing.
 */
export function CredentialPicker({ disabled, id, invalid, label, onChange, types, value }: CredentialPickerProps) {
  const fallbackId = useId();
  const selectId = id ?? fallbackId;
  const canCreate = useCan('editor');
  const [creating, setCreating] = useState(false);
  const list = useQuery(credentialQueries.list(types));
  const typeList = useQuery(credentialQueries.types());
  const titles = useMemo(() => new Map((typeList.data ?? []).map((t) => [t.name, t.title])), [typeList.data]);
  const items = list.data ?? [];
  const listed = !!value && items.some((c) => c.id === value);
  const missing = !!value && list.isSuccess && !listed;
  const noneYet = list.isSuccess && items.length === 0;
  const typeText = types.map((t) => titles.get(t) ?? t).join(' or ');
  return (
    <div className="space-y-1" data-testid="credential-picker" data-types={types.join(' ')}>
      <select
        aria-describedby={missing ? `${selectId}-missing` : undefined}
        aria-invalid={invalid || missing ? true : undefined}
        aria-label={id ? undefined : (label ?? 'Credential')}
        className="cm-input"
        disabled={disabled}
        id={selectId}
        onChange={(e) => {
          if (e.target.value === CREATE_NEW) setCreating(true);
          else onChange(e.target.value || undefined);
        }}
        value={value ?? ''}
      >
        <option value="">{list.isPending ? 'Loading credentials…' : noneYet ? `No ${typeText} credential yet` : 'Choose a credential…'}</option>
        {value && !listed && <option value={value}>{list.isPending ? shortId(value) : `Missing credential (${shortId(value)})`}</option>}
        {items.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name} ({titles.get(c.type) ?? c.type})
          </option>
        ))}
        {canCreate && !disabled && <option value={CREATE_NEW}>Create new credential…</option>}
      </select>
      {list.isError && <p className="text-xs text-red-600 dark:text-red-400">The credentials could not be listed.</p>}
      {missing && (
        <p className="text-xs text-amber-700 dark:text-amber-400" id={`${selectId}-missing`} role="alert">
          This credential no longer exists: choose another{canCreate ? ' or create one' : ''}.
        </p>
      )}
      {noneYet && !canCreate && <p className="text-xs text-zinc-500">An editor of this workspace can create one.</p>}
      {value && listed && (
        <p className="text-[11px]">
          <Link className="text-indigo-600 hover:underline dark:text-indigo-400" target="_blank" to="/credentials">
            Manage credentials
          </Link>
        </p>
      )}
      {creating && <CredentialDialog onClose={() => setCreating(false)} onSaved={(c) => onChange(c.id)} types={types} />}
    </div>
  );
}
