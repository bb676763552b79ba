import Form, { getDefaultRegistry } from '@rjsf/core';
import type {
  ErrorSchema,
  FieldProps,
  FieldTemplateProps,
  IconButtonProps,
  RegistryFieldsType,
  RegistryWidgetsType,
  RJSFSchema,
  WidgetProps,
} from '@rjsf/utils';
import validator from '@rjsf/validator-ajv8';
import clsx from 'clsx';
import { ArrowDown, ArrowUp, Copy, Plus, X, type LucideIcon } from 'lucide-react';
import { useMemo, useRef, useState } from 'react';

import { ExpressionInput } from '@components/ExpressionInput';
import { WorkflowPicker } from '@components/WorkflowPicker';
import { CredentialPicker } from '@features/credentials/CredentialPicker';
import { formatLooseValue, hasExpression, parseLooseValue } from '@lib/json';
import { credentialTypesOf } from '@services/credentials';
import type { JsonSchema } from '@services/nodeTypes';

import type { ErrorTree } from '../problems';
import { FIELD_NAMES, nodeUiSchema, prepareSchema, valueKindOfMap, WIDGET_NAMES } from './schemaForm';

/** ConfigFormProps bind a node's config to a form generated from its type's JSON Schema. */
export interface ConfigFormProps {
  errors: ErrorTree;
  idPrefix: string;
  /** nodeType gives particular fields of a type a better editor (flow.call picks its workflow). */
  nodeType?: string;
  onChange: (config: Record<string, unknown>) => void;
  readOnly?: boolean;
  schema: JsonSchema;
  value: Record<string, unknown>;
}

type Schema = Record<string, unknown>;

function schemaOf(props: FieldProps): Schema {
  return props.schema as Schema;
}

/** FieldShell is the label and description of a custom field; FieldTemplate adds its errors. */
function FieldShell({
  children,
  description,
  group,
  id,
  required,
  title,
}: {
  children: React.ReactNode;
  description?: string;
  group?: boolean;
  id: string;
  required?: boolean;
  title: string;
}) {
  const text = (
    <>
      {title}
      {required && <span className="ml-0.5 text-red-500">*</span>}
    </>
  );
  const cls = 'mb-1 block text-sm font-medium text-zinc-700 dark:text-zinc-300';
  return (
    <div aria-labelledby={group ? `${id}__label` : undefined} role={group ? 'group' : undefined}>
      {group ? (
        <span className={cls} id={`${id}__label`}>
          {text}
        </span>
      ) : (
        <label className={cls} htmlFor={id}>
          {text}
        </label>
      )}
      {description && <p className="mb-1 text-xs text-zinc-500 dark:text-zinc-400">{description}</p>}
      {children}
    </div>
  );
}

/**
 * FieldTemplate lays out every field: label and description (custom fields draw their own), the
 * field, and the errors placed on it, which come from the server's validation.
 */
function FieldTemplate({ children, classNames, displayLabel, hidden, id, label, rawDescription, rawErrors, required, uiSchema }: FieldTemplateProps) {
  if (hidden) return <div className="hidden">{children}</div>;
  const custom = typeof uiSchema?.['ui:field'] === 'string';
  const showLabel = displayLabel && !custom && label;
  return (
    <div className={clsx('form-group', classNames)} data-field={id}>
      {showLabel && (
        <label className="control-label" htmlFor={id}>
          {label}
          {required && <span className="required">*</span>}
        </label>
      )}
      {showLabel && rawDescription && <p className="field-description">{rawDescription}</p>}
      {children}
      {rawErrors && rawErrors.length > 0 && (
        <ul className="error-detail" data-testid="field-error">
          {rawErrors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

function titleOf(props: FieldProps): string {
  const s = schemaOf(props);
  return typeof s.title === 'string' ? s.title : props.name;
}
function descriptionOf(props: FieldProps): string | undefined {
  const s = schemaOf(props);
  return typeof s.description === 'string' ? s.description : undefined;
}

/** ExpressionField edits a property that takes an {{ expression }}. */
function ExpressionField(props: FieldProps) {
  const id = props.fieldPathId.$id;
  const value = typeof props.formData === 'string' ? props.formData : formatLooseValue(props.formData);
  return (
    <FieldShell description={descriptionOf(props)} id={id} required={props.required} title={titleOf(props)}>
      <ExpressionInput
        disabled={props.disabled || props.readonly}
        expressionOnly
        id={id}
        invalid={Boolean(props.rawErrors?.length ?? props.errorSchema?.__errors?.length)}
        onChange={(v) => props.onChange(v === '' ? undefined : v, props.fieldPathId.path)}
        placeholder="{{ input.value }}"
        value={value}
      />
    </FieldShell>
  );
}

/** JsonField edits an untyped property: a JSON value, or text (expressions included). */
function JsonField(props: FieldProps) {
  const id = props.fieldPathId.$id;
  const [text, setText] = useState(() =>
    props.formData === undefined ? '' : typeof props.formData === 'string' ? props.formData : JSON.stringify(props.formData, null, 2),
  );
  return (
    <FieldShell description={descriptionOf(props)} id={id} required={props.required} title={titleOf(props)}>
      <ExpressionInput
        disabled={props.disabled || props.readonly}
        id={id}
        onChange={(v) => {
          setText(v);
          props.onChange(v.trim() === '' ? undefined : parseLooseValue(v), props.fieldPathId.path);
        }}
        placeholder='{"key": "value"} or {{ input }}'
        value={text}
      />
      <p className="mt-0.5 text-[11px] text-zinc-500 dark:text-zinc-400">JSON is sent as JSON; anything else is text.</p>
    </FieldShell>
  );
}

interface Row {
  key: string;
  value: string;
}

/** KeyValueField edits a map (an object schema without fixed properties) as rows of name and value. */
function KeyValueField(props: FieldProps) {
  const id = props.fieldPathId.$id;
  const kind = valueKindOfMap(schemaOf(props));
  const data = props.formData && typeof props.formData === 'object' && !Array.isArray(props.formData) ? (props.formData as Record<string, unknown>) : {};
  const [rows, setRows] = useState<Row[]>(() => Object.entries(data).map(([key, v]) => ({ key, value: formatLooseValue(v) })));
  const emit = (next: Row[]) => {
    setRows(next);
    const out: Record<string, unknown> = {};
    for (const r of next) {
      if (r.key === '') continue;
      out[r.key] = kind === 'string' || hasExpression(r.value) ? r.value : parseLooseValue(r.value);
    }
    props.onChange(Object.keys(out).length > 0 || props.required ? out : undefined, props.fieldPathId.path);
  };
  const childErrors = (key: string) => {
    const e = props.errorSchema as Record<string, { __errors?: string[] } | undefined> | undefined;
    return e?.[key]?.__errors;
  };
  return (
    <FieldShell description={descriptionOf(props)} group id={id} required={props.required} title={titleOf(props)}>
      <div className="space-y-1.5" data-testid={`kv-${props.name}`}>
        {rows.map((r, i) => (
          <div key={i}>
            <div className="flex items-start gap-1.5">
              <input
                aria-label={`${titleOf(props)} name ${i + 1}`}
                className="cm-input w-2/5 font-mono text-[13px]"
                disabled={props.disabled || props.readonly}
                onChange={(e) => emit(rows.map((x, j) => (j === i ? { ...x, key: e.target.value } : x)))}
                placeholder="name"
                value={r.key}
              />
              <div className="min-w-0 flex-1">
                <ExpressionInput
                  aria-label={`${titleOf(props)} value ${i + 1}`}
                  disabled={props.disabled || props.readonly}
                  onChange={(v) => emit(rows.map((x, j) => (j === i ? { ...x, value: v } : x)))}
                  placeholder="value or {{ expression }}"
                  value={r.value}
                />
              </div>
              <button
                aria-label={`Remove ${r.key || `row ${i + 1}`}`}
                className="mt-1 rounded p-1 text-zinc-400 hover:bg-zinc-100 hover:text-red-600 dark:hover:bg-zinc-800"
                disabled={props.disabled || props.readonly}
                onClick={() => emit(rows.filter((_, j) => j !== i))}
                type="button"
              >
                <X className="size-4" />
              </button>
            </div>
            {childErrors(r.key)?.map((m) => (
              <p key={m} className="mt-0.5 text-xs text-red-600 dark:text-red-400">
                {r.key}: {m}
              </p>
            ))}
          </div>
        ))}
        <button
          className="inline-flex items-center gap-1 rounded-md border border-dashed border-zinc-300 px-2 py-1 text-xs font-medium text-zinc-600 hover:border-indigo-400 hover:text-indigo-600 dark:border-zinc-700 dark:text-zinc-300"
          disabled={props.disabled || props.readonly}
          id={`${id}__add`}
          onClick={() => setRows([...rows, { key: '', value: '' }])}
          type="button"
        >
          <Plus className="size-3.5" /> Add {kind === 'string' ? 'header' : 'field'}
        </button>
      </div>
    </FieldShell>
  );
}

/**
 * WorkflowField picks a workflow of the workspace by name (flow.call's workflowId); a value that is
 * an {{ expression }} is edited as text, and "Use an expression" switches to that.
 */
function WorkflowField(props: FieldProps) {
  const id = props.fieldPathId.$id;
  const value = typeof props.formData === 'string' ? props.formData : undefined;
  const [asText, setAsText] = useState(() => hasExpression(value));
  const disabled = props.disabled || props.readonly;
  const set = (v: string | undefined) => props.onChange(v === '' ? undefined : v, props.fieldPathId.path);
  return (
    <FieldShell description={descriptionOf(props)} id={id} required={props.required} title={titleOf(props)}>
      {asText ? (
        <ExpressionInput disabled={disabled} id={id} onChange={set} placeholder="{{ input.workflowId }}" value={value ?? ''} />
      ) : (
        <WorkflowPicker
          disabled={disabled}
          id={id}
          invalid={Boolean(props.rawErrors?.length)}
          label={titleOf(props)}
          none="Choose a workflow…"
          onChange={set}
          value={value}
        />
      )}
      {!disabled && (
        <button className="mt-1 text-[11px] text-indigo-600 hover:underline dark:text-indigo-400" onClick={() => setAsText(!asText)} type="button">
          {asText ? 'Pick a workflow' : 'Use an id or an expression'}
        </button>
      )}
    </FieldShell>
  );
}

/**
 * SecretWidget edits a write-only string (a secret such as an HMAC key): masked while it is typed and
 * shown, unless it is an {{ expression }} that reads the secret from elsewhere.
 */
function SecretWidget(props: WidgetProps) {
  const value = props.value === undefined || props.value === null ? '' : String(props.value);
  const [shown, setShown] = useState(false);
  if (hasExpression(value)) return <TextWidget {...props} />;
  return (
    <div className="flex items-center gap-1.5">
      <input
        autoComplete="new-password"
        className={clsx('form-control', props.rawErrors?.length && 'cm-invalid')}
        data-1p-ignore
        data-secret
        disabled={props.disabled || props.readonly}
        id={props.id}
        onBlur={() => props.onBlur(props.id, props.value)}
        onChange={(e) => props.onChange(e.target.value === '' ? undefined : e.target.value)}
        placeholder={props.placeholder}
        spellCheck={false}
        type={shown ? 'text' : 'password'}
        value={value}
      />
      <button
        aria-label={shown ? 'Hide the secret' : 'Show the secret'}
        aria-pressed={shown}
        className="rounded-md border border-zinc-300 px-2 py-1 text-xs text-zinc-600 hover:bg-zinc-100 dark:border-zinc-700 dark:text-zinc-300 dark:hover:bg-zinc-800"
        onClick={() => setShown(!shown)}
        type="button"
      >
        {shown ? 'Hide' : 'Show'}
      </button>
    </div>
  );
}

/**
 * CredentialWidget picks a stored credential for a property with x-credentialTypes (a select of the
 * workspace's credentials of those types, and "Create new credential…"). It is never a text box: a
 * credential is referenced by id, not typed or computed.
 */
function CredentialWidget(props: WidgetProps) {
  const types = credentialTypesOf(props.schema) ?? [];
  const value = typeof props.value === 'string' && props.value !== '' ? props.value : undefined;
  return (
    <CredentialPicker
      disabled={props.disabled || props.readonly}
      id={props.id}
      invalid={Boolean(props.rawErrors?.length)}
      onChange={(v) => props.onChange(v)}
      types={types}
      value={value}
    />
  );
}

/** TextWidget is rjsf's text input, marked as an expression when its value holds one. */
function TextWidget(props: WidgetProps) {
  const value = props.value === undefined || props.value === null ? '' : String(props.value);
  const d: unknown = (props.schema as Schema).default;
  // An empty field means the default: it is shown as the placeholder.
  const placeholder =
    props.placeholder || (d !== undefined && d !== null && d !== '' ? `${typeof d === 'string' ? d : JSON.stringify(d)} (default)` : undefined);
  const isNumber = props.schema.type === 'number' || props.schema.type === 'integer';
  if (isNumber) {
    return (
      <input
        className={clsx('form-control', props.rawErrors?.length && 'cm-invalid')}
        disabled={props.disabled || props.readonly}
        id={props.id}
        onBlur={() => props.onBlur(props.id, props.value)}
        onChange={(e) => props.onChange(e.target.value === '' ? undefined : Number(e.target.value))}
        placeholder={placeholder}
        type="number"
        value={value}
      />
    );
  }
  return (
    <ExpressionInput
      disabled={props.disabled || props.readonly}
      id={props.id}
      invalid={Boolean(props.rawErrors?.length)}
      onBlur={() => props.onBlur(props.id, props.value)}
      onChange={(v) => props.onChange(v === '' ? undefined : v)}
      placeholder={placeholder}
      value={value}
    />
  );
}

const fields: RegistryFieldsType = {
  [FIELD_NAMES.expression]: ExpressionField,
  [FIELD_NAMES.json]: JsonField,
  [FIELD_NAMES.keyValue]: KeyValueField,
  [FIELD_NAMES.workflow]: WorkflowField,
};
const base = getDefaultRegistry().widgets;
/**
 * withSchemaDefault shows a field's schema default while the config lacks its key: the server uses the
 * default then, so the form must not say otherwise (data.set's "Keep input" is on by default). The
 * default is only shown; the config changes only when the user changes the field.
 */
export function withSchemaDefault(Widget: React.ComponentType<WidgetProps>) {
  return function DefaultedWidget(props: WidgetProps) {
    const d: unknown = (props.schema as Schema).default;
    return <Widget {...props} value={props.value === undefined && d !== undefined ? d : props.value} />;
  };
}
const widgets: RegistryWidgetsType = {
  CheckboxWidget: withSchemaDefault(base.CheckboxWidget!),
  RadioWidget: withSchemaDefault(base.RadioWidget!),
  SelectWidget: withSchemaDefault(base.SelectWidget!),
  TextWidget,
  [WIDGET_NAMES.credential]: CredentialWidget,
  [WIDGET_NAMES.secret]: SecretWidget,
};
/** iconButton makes an rjsf array button: an icon with an accessible name. */
function iconButton(Icon: LucideIcon, label: string, text?: string) {
  return function ArrayButton({ className, disabled, onClick, style, title }: IconButtonProps) {
    return (
      <button
        aria-label={text ? undefined : label}
        className={clsx(
          'inline-flex items-center gap-1 rounded-md border border-zinc-300 bg-white px-1.5 py-1 text-xs font-medium text-zinc-600 hover:bg-zinc-100 disabled:opacity-40 dark:border-zinc-700 dark:bg-zinc-800 dark:text-zinc-300 dark:hover:bg-zinc-700',
          className,
        )}
        disabled={disabled}
        onClick={onClick}
        style={style}
        title={title ?? label}
        type="button"
      >
        <Icon aria-hidden className="size-3.5" />
        {text}
      </button>
    );
  };
}

const templates = {
  ButtonTemplates: {
    AddButton: iconButton(Plus, 'Add an item', 'Add'),
    CopyButton: iconButton(Copy, 'Copy this item'),
    MoveDownButton: iconButton(ArrowDown, 'Move down'),
    MoveUpButton: iconButton(ArrowUp, 'Move up'),
    RemoveButton: iconButton(X, 'Remove this item'),
  },
  FieldTemplate,
};
const defaultsBehavior = { emptyObjectFields: 'populateRequiredDefaults' as const };

/**
 * ConfigForm is a node's configuration form, generated from its type's JSON Schema with rjsf. The
 * server validates (on every edit, through /workflows/validate), and its errors come back in errors,
 * placed on the fields their JSON pointers name.
 */
export default function ConfigForm({ errors, idPrefix, nodeType, onChange, readOnly, schema, value }: ConfigFormProps) {
  const prepared = useMemo(() => prepareSchema(schema), [schema]);
  const uiSchema = useMemo(() => ({ ...nodeUiSchema(prepared, nodeType), 'ui:submitButtonOptions': { norender: true } }), [prepared, nodeType]);
  const hasFields = Object.keys((prepared.properties as Schema | undefined) ?? {}).length > 0;
  // rjsf reports defaults it fills in as changes; only what the user does may change the config, so
  // that opening a node neither dirties the workflow nor adds an undo step.
  const touched = useRef(false);
  const touch = () => {
    touched.current = true;
  };
  if (!hasFields) return <p className="text-sm text-zinc-500">This node type takes no configuration.</p>;
  return (
    <div onChangeCapture={touch} onClickCapture={touch} onInputCapture={touch} onKeyDownCapture={touch}>
      <Form
        className="cm-form"
        disabled={readOnly}
        experimental_defaultFormStateBehavior={defaultsBehavior}
        // ErrorTree is rjsf's ErrorSchema written without rjsf's types, which problems.ts does not import.
        extraErrors={errors as ErrorSchema}
        fields={fields}
        formData={value}
        idPrefix={idPrefix}
        liveValidate={false}
        noHtml5Validate
        noValidate
        onChange={(e) => {
          const next = (e.formData ?? {}) as Record<string, unknown>;
          if (touched.current && JSON.stringify(next) !== JSON.stringify(value)) onChange(next);
        }}
        schema={prepared as RJSFSchema}
        showErrorList={false}
        tagName="div"
        templates={templates}
        uiSchema={uiSchema}
        validator={validator}
        widgets={widgets}
      />
    </div>
  );
}
