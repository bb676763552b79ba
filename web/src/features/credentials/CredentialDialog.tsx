import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useMemo, useState } from 'react';

import { Button } from '@components/Button';
import { CredentialTypeIcon } from '@components/CredentialTypeIcon';
import { Dialog } from '@components/Dialog';
import { FormError } from '@components/Field';
import { Spinner } from '@components/States';
import { toast } from '@lib/toast';
import {
  createBody,
  createCredential,
  credentialFieldErrors,
  credentialFields,
  credentialQueries,
  initialFormState,
  isSecretStored,
  patchBody,
  updateCredential,
  type CredentialFromAPI,
  type CredentialTypeFromAPI,
} from '@services/credentials';
import { errorMessage, isApiError } from '@services/http';

import { CredentialFields } from './CredentialFields';

/** CredentialDialogProps open the dialog to create a credential, or to edit (or, read-only, view) one. */
export interface CredentialDialogProps {
  /** credential is the one to edit; without it the dialog creates one. */
  credential?: CredentialFromAPI;
  onClose: () => void;
  /** onSaved gets the credential as the server answered (after the lists were refreshed). */
  onSaved?: (c: CredentialFromAPI) => void;
  readOnly?: boolean;
  /** types limits a new credential to these types (one: no choice is offered); all types without it. */
  types?: readonly string[];
}

/**
 * CredentialDialog creates or edits a credential: a type (for a new one), a name and the type's fields,
 * generated from its schema (CredentialFields). An edit sends only what changed (patchBody): a secret
 * left blank keeps its stored value, Clear sends null. The server's 422 errors land on their fields.
 */
export function CredentialDialog({ credential, onClose, onSaved, readOnly, types }: CredentialDialogProps) {
  const formId = useId();
  const allTypes = useQuery(credentialQueries.types());
  const choices = useMemo(() => {
    const all = allTypes.data ?? [];
    return types && types.length > 0 ? all.filter((t) => types.includes(t.name)) : all;
  }, [allTypes.data, types]);
  const [chosen, setChosen] = useState<string>(credential?.type ?? (types?.length === 1 ? types[0]! : ''));
  const typeName = credential?.type ?? (chosen || choices[0]?.name || '');
  const type = (allTypes.data ?? []).find((t) => t.name === typeName);
  const title = credential ? (readOnly ? credential.name : `Edit “${credential.name}”`) : 'New credential';
  return (
    <Dialog
      className="w-[min(92vw,36rem)]"
      description={type ? (credential ? `${type.title} credential` : type.description) : undefined}
      footer={
        <>
          <Button onClick={onClose}>{readOnly ? 'Close' : 'Cancel'}</Button>
          {!readOnly && (
            <Button disabled={!type} form={formId} type="submit" variant="primary">
              {credential ? 'Save' : 'Create'}
            </Button>
          )}
        </>
      }
      onClose={onClose}
      open
      title={title}
    >
      {allTypes.isPending ? (
        <Spinner label="Loading credential types…" />
      ) : allTypes.isError ? (
        <FormError>{errorMessage(allTypes.error)}</FormError>
      ) : (
        <>
          {!credential && choices.length > 1 && (
            <div className="mb-3">
              <label className="mb-1 block text-sm font-medium" htmlFor={`${formId}-type`}>
                Type
              </label>
              <select className="cm-input" id={`${formId}-type`} onChange={(e) => setChosen(e.target.value)} value={typeName}>
                {choices.map((t) => (
                  <option key={t.name} value={t.name}>
                    {t.title}
                  </option>
                ))}
              </select>
            </div>
          )}
          {!credential && choices.length === 0 && <FormError>No credential type fits here.</FormError>}
          {type && (
            <CredentialForm
              // A new type starts a new form.
              key={type.name}
              credential={credential}
              formId={formId}
              onSaved={(c) => {
                onSaved?.(c);
                onClose();
              }}
              readOnly={readOnly}
              type={type}
            />
          )}
        </>
      )}
    </Dialog>
  );
}

/** CredentialForm is the name and the fields of one credential type, and the save. */
export function CredentialForm({
  credential,
  formId,
  onSaved,
  readOnly,
  type,
}: {
  credential?: CredentialFromAPI;
  formId: string;
  onSaved: (c: CredentialFromAPI) => void;
  readOnly?: boolean;
  type: CredentialTypeFromAPI;
}) {
  const queryClient = useQueryClient();
  const fields = useMemo(() => credentialFields(type.schema), [type.schema]);
  const [state, setState] = useState(() => initialFormState(fields, credential));
  const stored = useMemo(
    () => (credential ? Object.fromEntries(fields.filter((f) => f.secret).map((f) => [f.name, isSecretStored(credential, f.name)])) : undefined),
    [credential, fields],
  );
  const save = useMutation({
    mutationFn: async () => {
      if (credential) return updateCredential(credential.id, patchBody(fields, credential, state));
      return createCredential(createBody(type.name, fields, state));
    },
    onSuccess: async (c) => {
      await queryClient.invalidateQueries({ queryKey: credentialQueries.all() });
      toast.success(credential ? `Saved “${c.name}”` : `Created “${c.name}”`);
      onSaved(c);
    },
  });
  const errors = save.error ? credentialFieldErrors(save.error) : {};
  if (isApiError(save.error, 409) && !errors.name) errors.name = errorMessage(save.error);
  const known = new Set(['name', ...fields.map((f) => f.name)]);
  // Errors of no field of the form (the whole data: "needs host and user") show above it, and so does
  // the error itself when it names no field at all.
  const other = Object.entries(errors).filter(([k]) => !known.has(k));
  const general = !save.error
    ? ''
    : other.length > 0
      ? other.map(([k, v]) => (k === 'data' ? v : `${k}: ${v}`)).join('; ')
      : Object.keys(errors).length === 0
        ? errorMessage(save.error)
        : '';
  const nameId = `${formId}-name`;
  return (
    <form
      id={formId}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        if (!readOnly && !save.isPending) save.mutate();
      }}
    >
      <div className="space-y-3">
        {general && <FormError>{general}</FormError>}
        <div className="flex items-center gap-2 text-sm text-zinc-600 dark:text-zinc-300">
          <CredentialTypeIcon icon={type.icon} size="sm" />
          <span data-testid="credential-type">{type.title}</span>
        </div>
        <div data-field="name">
          <label className="mb-1 block text-sm font-medium" htmlFor={nameId}>
            Name
            <span aria-hidden className="ml-0.5 text-red-500">
              *
            </span>
          </label>
          <input
            aria-describedby={errors.name ? `${nameId}-error` : undefined}
            aria-invalid={errors.name ? true : undefined}
            aria-required
            autoFocus={!credential}
            className="cm-input"
            disabled={readOnly}
            id={nameId}
            maxLength={200}
            onChange={(e) => setState({ ...state, name: e.target.value })}
            placeholder={`e.g. Production ${type.title}`}
            value={state.name}
          />
          {errors.name && (
            <p className="mt-1 text-xs text-red-600 dark:text-red-400" data-testid="credential-field-error" id={`${nameId}-error`}>
              {errors.name}
            </p>
          )}
        </div>
        <CredentialFields disabled={readOnly || save.isPending} errors={errors} fields={fields} onChange={setState} state={state} stored={stored} />
        {!credential && fields.some((f) => f.secret) && (
          <p className="text-xs text-zinc-500 dark:text-zinc-400">Secret fields are encrypted when saved and never shown again, not even to you.</p>
        )}
      </div>
    </form>
  );
}
