import type { JsonSchema } from '@services/nodeTypes';

/** UiSchema is the part of rjsf's uiSchema this app writes. */
export interface UiSchema {
  [key: string]: UiSchema | string | boolean | Record<string, unknown> | ItemUiSchema | undefined;
}

/** ItemUiSchema is rjsf's uiSchema.items given as a function: the uiSchema of the item at index. */
export type ItemUiSchema = (item: unknown, index: number) => UiSchema;

/**
 * itemTitle is how the item at index (from 0) of a list is called, in forms and in problems alike:
 * one numbering from 1, after the list's title in the singular — "Cases" → "Case 1", "headers" →
 * "Header 2", "entries" → "Entry 3". rjsf's own would be "Cases-1".
 */
export function itemTitle(listTitle: string, index: number): string {
  const t = listTitle.trim();
  let one = t;
  if (/ies$/i.test(t)) one = t.slice(0, -3) + 'y';
  else if (/(ss|us|is)$/i.test(t)) one = t;
  else if (/(x|ch|sh|ses)es$/i.test(t)) one = t.slice(0, -2);
  else if (/s$/i.test(t)) one = t.slice(0, -1);
  one = one ? one.charAt(0).toUpperCase() + one.slice(1) : 'Item';
  return `${one} ${index + 1}`;
}

type Schema = Record<string, unknown>;

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** isExpressionSchema reports whether a property takes a {{ expression }} (x-cm-expression). */
export function isExpressionSchema(s: Schema): boolean {
  return s['x-cm-expression'] === true;
}

/**
 * prepareSchema adapts a node type's config schema for form generation: it drops $schema (the
 * form's validator only renders, the server validates), and turns a root oneOf/anyOf that only
 * says which properties are required ("duration or until") into a note, instead of an option picker.
 */
export function prepareSchema(schema: JsonSchema): Schema {
  const out: Schema = { ...schema };
  delete out.$schema;
  delete out.title;
  delete out.description; // the panel already shows the type's description
  for (const key of ['oneOf', 'anyOf'] as const) {
    const alts = out[key];
    if (Array.isArray(alts) && alts.every((a) => isSchema(a) && Object.keys(a).every((k) => k === 'required'))) {
      const names = alts.map((a) => ((a as Schema).required as string[]).join(' and '));
      delete out[key];
      out.description = `Set ${key === 'oneOf' ? 'exactly one' : 'at least one'} of: ${names.join(', ')}.`;
    }
  }
  if (!out.type) out.type = 'object';
  return dropFormRisks(dropConditionals(out)) as Schema;
}

/** SCHEMA_MAPS are the keywords whose value maps names to schemas (a property may be called "format"). */
const SCHEMA_MAPS = new Set(['$defs', 'definitions', 'patternProperties', 'properties']);
/** VALUE_KEYS hold values, not schemas: they are copied as they are. */
const VALUE_KEYS = new Set(['const', 'default', 'enum', 'examples', 'required']);

function onlyRequired(alts: unknown[]): boolean {
  return alts.every((a) => isSchema(a) && Object.keys(a).every((k) => k === 'required'));
}

/**
 * dropFormRisks adapts, at every depth, what rjsf would render badly or not at all:
 * - a property that is one of several shapes (oneOf / anyOf, such as "a path or a list of paths")
 *   becomes an untyped value, edited as JSON or text: rjsf would offer an option picker that asks
 *   ajv which option matches, and ajv compiles with eval, which the Content-Security-Policy refuses
 *   (alternatives that only say which properties are required become a note, as at the root);
 * - format is left out: rjsf would draw date-time or email pickers that cannot hold an
 *   {{ expression }}, and the server checks formats anyway.
 */
export function dropFormRisks(v: unknown, isProperty = false): unknown {
  if (Array.isArray(v)) return v.map((x) => dropFormRisks(x));
  if (!isSchema(v)) return v;
  const out: Schema = {};
  const notes: string[] = [];
  let shapes = false;
  for (const key of ['oneOf', 'anyOf'] as const) {
    const alts = v[key];
    if (!isProperty || !Array.isArray(alts)) continue;
    if (onlyRequired(alts)) {
      const names = alts.map((a) => ((a as Schema).required as string[]).join(' and '));
      notes.push(`Set ${key === 'oneOf' ? 'exactly one' : 'at least one'} of: ${names.join(', ')}.`);
    } else {
      shapes = true;
      const kinds = [...new Set(alts.map(shapeOf).filter(Boolean))];
      if (kinds.length > 0) notes.push(`One of: ${kinds.join(', ')}.`);
    }
  }
  for (const [k, x] of Object.entries(v)) {
    if (k === 'format') continue;
    if (isProperty && (k === 'oneOf' || k === 'anyOf')) continue;
    if (shapes && k === 'type') continue;
    if (VALUE_KEYS.has(k)) out[k] = x;
    else if (SCHEMA_MAPS.has(k) && isSchema(x)) out[k] = Object.fromEntries(Object.entries(x).map(([name, sub]) => [name, dropFormRisks(sub, true)]));
    else out[k] = dropFormRisks(x, k === 'items' || k === 'additionalProperties');
  }
  if (notes.length > 0) {
    const d = typeof out.description === 'string' && out.description ? out.description.replace(/\.?$/, '. ') : '';
    out.description = d + notes.join(' ');
  }
  return out;
}

function shapeOf(s: unknown): string {
  if (!isSchema(s)) return '';
  if (s.type === 'array') return isSchema(s.items) && typeof s.items.type === 'string' ? `a list of ${s.items.type}s` : 'a list';
  if (typeof s.type === 'string') return s.type === 'string' ? 'text' : `a ${s.type}`;
  if ('const' in s) return JSON.stringify(s.const);
  return '';
}

/**
 * dropConditionals removes if/then/else (and allOf entries made only of them) at every depth: they
 * only say which fields go together, the server checks that, and rjsf would compile them with ajv,
 * which evaluates generated code — refused by the app's Content-Security-Policy (no unsafe-eval).
 */
export function dropConditionals(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropConditionals);
  if (!isSchema(v)) return v;
  const out: Schema = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'if' || k === 'then' || k === 'else') continue;
    if (k === 'allOf' && Array.isArray(x)) {
      const kept = x.filter((a) => !(isSchema(a) && Object.keys(a).every((key) => key === 'if' || key === 'then' || key === 'else')));
      if (kept.length > 0) out[k] = kept.map(dropConditionals);
      continue;
    }
    if ((k === 'properties' || k === 'patternProperties' || k === '$defs' || k === 'definitions') && isSchema(x)) {
      // A map of names to schemas: a property may be called "if".
      out[k] = Object.fromEntries(Object.entries(x).map(([name, sub]) => [name, dropConditionals(sub)]));
      continue;
    }
    out[k] = dropConditionals(x);
  }
  return out;
}

/** FIELD_NAMES are the custom rjsf fields the config form registers. */
export const FIELD_NAMES = { expression: 'cmExpression', json: 'cmJson', keyValue: 'cmKeyValue', workflow: 'cmWorkflow' } as const;

/** WIDGET_NAMES are the custom rjsf widgets the config form registers. */
export const WIDGET_NAMES = { credential: 'cmCredential', secret: 'cmSecret' } as const;

/**
 * isCredentialSchema reports whether a property picks a stored credential: a string property with
 * x-credentialTypes (the types that fit). It is always edited with the credential picker, never as
 * text or an expression: the server resolves credential ids when the workflow is saved and run.
 */
export function isCredentialSchema(s: Schema): boolean {
  const t = s['x-credentialTypes'];
  const isString = s.type === 'string' || (Array.isArray(s.type) && s.type.includes('string'));
  return isString && Array.isArray(t) && t.some((x) => typeof x === 'string' && x !== '');
}

/**
 * NODE_UI names fields of particular node types that get a better editor than their schema says:
 * flow.call's workflowId is picked from the workspace's workflows.
 */
const NODE_UI: Record<string, UiSchema> = {
  'flow.call': { workflowId: { 'ui:field': FIELD_NAMES.workflow } },
};

/** nodeUiSchema is the uiSchema of a node type: buildUiSchema's, with the type's own fields on top. */
export function nodeUiSchema(schema: Schema, nodeType?: string): UiSchema {
  const ui = buildUiSchema(schema);
  const extra = nodeType ? NODE_UI[nodeType] : undefined;
  const props = isSchema(schema.properties) ? schema.properties : {};
  for (const [name, sub] of Object.entries(extra ?? {})) {
    if (name in props) ui[name] = { ...(isSchema(ui[name]) ? (ui[name] as UiSchema) : {}), ...(sub as UiSchema) };
  }
  return ui;
}

/**
 * buildUiSchema picks a field for every property whose schema rjsf cannot render well: the
 * credential picker for x-credentialTypes, an expression editor for x-cm-expression, a JSON-or-expression box for untyped values, and a
 * key/value editor for free-form maps (objects without properties).
 */
export function buildUiSchema(schema: Schema, name?: string): UiSchema {
  const ui: UiSchema = {};
  if (isCredentialSchema(schema)) return { 'ui:widget': WIDGET_NAMES.credential };
  const field = fieldFor(schema, true);
  if (field) ui['ui:field'] = field;
  const widget = field ? undefined : widgetFor(schema);
  if (widget) ui['ui:widget'] = widget;
  const props = schema.properties;
  if (isSchema(props)) {
    for (const [name, sub] of Object.entries(props)) {
      if (!isSchema(sub)) continue;
      const child = buildUiSchema(sub, name);
      if (Object.keys(child).length > 0) ui[name] = child;
    }
  }
  const items = schema.items;
  if (isSchema(items)) {
    const child = buildUiSchema(items);
    // Each item is titled "Case 1", "Case 2"… after the list, as problems about it are (problemLabel).
    const list = typeof schema.title === 'string' && schema.title ? schema.title : name;
    if (list) ui.items = (_item: unknown, index: number) => ({ ...child, 'ui:title': itemTitle(list, index) });
    else if (Object.keys(child).length > 0) ui.items = child;
  }
  return ui;
}

function widgetFor(s: Schema): string | undefined {
  return s.writeOnly === true && s.type === 'string' && !isExpressionSchema(s) ? WIDGET_NAMES.secret : undefined;
}

function fieldFor(s: Schema, nested: boolean): string | undefined {
  if (!nested) return undefined;
  if (isExpressionSchema(s)) return FIELD_NAMES.expression;
  const t = s.type;
  if (t === undefined && !s.enum && !s.const && !s.properties && !s.oneOf && !s.anyOf && !s.$ref) return FIELD_NAMES.json;
  if (t === 'object' && !isSchema(s.properties)) return FIELD_NAMES.keyValue;
  return undefined;
}

/** valueKindOfMap says how a key/value editor should read the values of a map schema. */
export function valueKindOfMap(s: Schema): 'any' | 'scalar' | 'string' {
  const ap = s.additionalProperties;
  if (!isSchema(ap)) return 'any';
  if (ap.type === 'string') return 'string';
  if (Array.isArray(ap.type) && ap.type.every((x) => x === 'string' || x === 'number' || x === 'boolean')) return 'scalar';
  return 'any';
}
