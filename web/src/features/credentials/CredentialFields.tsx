import clsx from 'clsx';
import { useId } from 'react';

import type { CredentialField, CredentialFormState, SecretEdit } from '@services/credentials';

/** CredentialFieldsProps bind the fields of a credential type to the form's state. */
export interface CredentialFieldsProps {
  disabled?: boolean;
  errors: Record<string, string>;
  fields: readonly CredentialField[];
  onChange: (state: CredentialFormState) => void;
  state: CredentialFormState;
  /** stored says, per secret field, whether the credential being edited has a value for it (undefined: a new credential). */
  stored?: Record<string, boolean>;
}

/**
 * CredentialFields draws a credential type's fields from its schema: text, number, a choice for an
 * enum, a checkbox, a list (one per line), and a password input for each secret (writeOnly) field.
 * A stored secret is never shown: its input stays blank ("Stored — leave blank to keep"), typing
 * replaces it, and Clear removes it on save.
 */
export function CredentialFields({ disabled, errors, fields, onChange, state, stored }: CredentialFieldsProps) {
  const setValue = (name: string, v: unknown) => onChange({ ...state, values: { ...state.values, [name]: v } });
  const setSecret = (name: string, s: SecretEdit) => onChange({ ...state, secrets: { ...state.secrets, [name]: s } });
  return (
    <div className="space-y-3">
      {fields.map((f) => (
        <FieldRow key={f.name} error={errors[f.name]} field={f}>
          {(id, described) =>
            f.secret ? (
              <SecretInput
                described={described}
                disabled={disabled}
                edit={state.secrets[f.name] ?? { kind: 'keep' }}
                field={f}
                id={id}
                invalid={Boolean(errors[f.name])}
                isStored={stored?.[f.name]}
                onChange={(s) => setSecret(f.name, s)}
              />
            ) : (
              <PlainInput
                described={described}
                disabled={disabled}
                field={f}
                id={id}
                invalid={Boolean(errors[f.name])}
                onChange={(v) => setValue(f.name, v)}
                value={state.values[f.name]}
              />
            )
          }
        </FieldRow>
      ))}
    </div>
  );
}

function FieldRow({
  children,
  error,
  field,
}: {
  children: (id: string, described: string | undefined) => React.ReactNode;
  error?: string;
  field: CredentialField;
}) {
  const id = useId();
  const hint = field.kind === 'list' ? [field.description, 'One per line.'].filter(Boolean).join(' ') : field.description;
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  if (field.kind === 'boolean') {
    return (
      <div data-field={field.name}>
        <label className="flex items-start gap-2 text-sm font-medium" htmlFor={id}>
          {children(id, described)}
          <span>{field.title}</span>
        </label>
        {hint && (
          <p className="mt-0.5 ml-6 text-xs text-zinc-500 dark:text-zinc-400" id={`${id}-hint`}>
            {hint}
          </p>
        )}
        {error && (
          <p className="mt-1 text-xs text-red-600 dark:text-red-400" data-testid="credential-field-error" id={`${id}-error`}>
            {error}
          </p>
        )}
      </div>
    );
  }
  return (
    <div data-field={field.name}>
      <label className="mb-1 block text-sm font-medium" htmlFor={id}>
        {field.title}
        {field.required && (
          <span aria-hidden className="ml-0.5 text-red-500">
            *
          </span>
        )}
      </label>
      {hint && (
        <p className="mb-1 text-xs text-zinc-500 dark:text-zinc-400" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children(id, described)}
      {error && (
        <p className="mt-1 text-xs text-red-600 dark:text-red-400" data-testid="credential-field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

interface InputProps {
  described: string | undefined;
  disabled?: boolean;
  field: CredentialField;
  id: string;
  invalid: boolean;
}

function PlainInput({ described, disabled, field, id, invalid, onChange, value }: InputProps & { onChange: (v: unknown) => void; value: unknown }) {
  const common = {
    'aria-describedby': described,
    'aria-invalid': invalid ? true : undefined,
    'aria-required': field.required ? true : undefined,
    disabled,
    id,
  } as const;
  if (field.kind === 'boolean') {
    return <input {...common} checked={value === true} className="mt-0.5" onChange={(e) => onChange(e.target.checked)} type="checkbox" />;
  }
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  if (field.enum) {
    return (
      <select {...common} className={clsx('cm-input', invalid && 'cm-invalid')} onChange={(e) => onChange(e.target.value)} value={text}>
        {!field.required && <option value="">—</option>}
        {field.enum.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    );
  }
  if (field.kind === 'list') {
    return (
      <textarea
        {...common}
        className={clsx('cm-input font-mono text-[13px]', invalid && 'cm-invalid')}
        onChange={(e) => onChange(e.target.value)}
        placeholder={field.example}
        rows={3}
        spellCheck={false}
        value={text}
      />
    );
  }
  return (
    <input
      {...common}
      className={clsx('cm-input', invalid && 'cm-invalid')}
      onChange={(e) => onChange(e.target.value)}
      placeholder={field.example}
      spellCheck={false}
      type={field.kind === 'integer' || field.kind === 'number' ? 'number' : 'text'}
      value={text}
    />
  );
}

function SecretInput({
  described,
  disabled,
  edit,
  field,
  id,
  invalid,
  isStored,
  onChange,
}: InputProps & { edit: SecretEdit; isStored: boolean | undefined; onChange: (s: SecretEdit) => void }) {
  // A new credential (isStored undefined) and a stored one without this secret take a value; a stored
  // secret is kept unless something is typed, or cleared.
  const editing = isStored !== undefined;
  const clearing = edit.kind === 'clear';
  const placeholder = clearing
    ? 'Cleared when you save'
    : isStored
      ? 'Stored — leave blank to keep'
      : editing
        ? 'Not set'
        : field.example
          ? `e.g. ${field.example}`
          : undefined;
  return (
    <div className="flex items-center gap-1.5">
      <input
        aria-describedby={described}
        aria-invalid={invalid ? true : undefined}
        aria-required={field.required && !isStored ? true : undefined}
        autoComplete="new-password"
        className={clsx('cm-input', invalid && 'cm-invalid')}
        data-1p-ignore
        data-secret
        disabled={disabled || clearing}
        id={id}
        onChange={(e) => onChange(e.target.value === '' && editing ? { kind: 'keep' } : { kind: 'set', value: e.target.value })}
        placeholder={placeholder}
        spellCheck={false}
        type="password"
        value={edit.kind === 'set' ? edit.value : ''}
      />
      {isStored && !disabled && (
        <button
          aria-label={clearing ? `Keep the stored ${field.title.toLowerCase()}` : `Clear the stored ${field.title.toLowerCase()}`}
          className="shrink-0 rounded-md border border-zinc-300 px-2 py-1.5 text-xs text-zinc-600 hover:bg-zinc-100 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
          onClick={() => onChange(clearing ? { kind: 'keep' } : { kind: 'clear' })}
          type="button"
        >
          {clearing ? 'Undo' : 'Clear'}
        </button>
      )}
    </div>
  );
}
