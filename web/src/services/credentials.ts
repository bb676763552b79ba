import { queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { ApiError, fieldErrors, request } from './http';

// --- Types of the credentials API (issue 10) -------------------------------------------------------

type Schemas = components['schemas'];

/** JsonSchemaObject is a credential type's JSON Schema of its data. */
export type JsonSchemaObject = { [key: string]: unknown };

/** CredentialTypeFromAPI is a kind of credential: its fields are the properties of its schema (secret ones writeOnly). */
export type CredentialTypeFromAPI = Schemas['CredentialType'];

/**
 * CredentialFromAPI is a stored credential as the API returns it: its non-secret fields as stored and,
 * for each secret field that is set, the marker STORED — never the secret.
 */
export type CredentialFromAPI = Schemas['Credential'];

/** CredentialTestFromAPI is the answer of a connection test: a failed test is ok false, with the reason. */
export type CredentialTestFromAPI = Schemas['TestCredentialOutputBody'];

/** NewCredential is what POST /credentials takes. */
export type NewCredential = Schemas['CreateCredentialInputBody'];

/**
 * CredentialPatch is what PATCH /credentials/{id} takes: a data field left out keeps its stored
 * value, null clears it.
 */
export type CredentialPatch = Schemas['UpdateCredentialInputBody'];

/** STORED is what the API shows in place of a secret value that is set. */
export const STORED = '[stored]';

// --- Schema helpers -------------------------------------------------------------------------------

/** CredentialFieldKind is how a credential field is edited. */
export type CredentialFieldKind = 'boolean' | 'integer' | 'list' | 'number' | 'string';

/** CredentialField is one field of a credential type, read from its schema. */
export interface CredentialField {
  default?: unknown;
  description?: string;
  enum?: string[];
  example?: string;
  kind: CredentialFieldKind;
  name: string;
  required: boolean;
  secret: boolean;
  title: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** credentialFields lists a type's fields in the order of its schema's properties. */
export function credentialFields(raw: unknown): CredentialField[] {
  const schema = isObject(raw) ? raw : undefined;
  const props = isObject(schema?.properties) ? schema.properties : {};
  const required = Array.isArray(schema?.required) ? (schema.required as unknown[]) : [];
  return Object.entries(props).flatMap(([name, p]): CredentialField[] => {
    if (!isObject(p)) return [];
    const t = Array.isArray(p.type) ? p.type.find((x) => x !== 'null') : p.type;
    const kind: CredentialFieldKind = t === 'boolean' ? 'boolean' : t === 'integer' ? 'integer' : t === 'number' ? 'number' : t === 'array' ? 'list' : 'string';
    const examples = Array.isArray(p.examples) ? p.examples : [];
    return [
      {
        default: p.default,
        description: typeof p.description === 'string' ? p.description : undefined,
        enum: Array.isArray(p.enum) ? p.enum.map(String) : undefined,
        example: examples.length > 0 ? String(examples[0]) : undefined,
        kind,
        name,
        required: required.includes(name),
        secret: p.writeOnly === true,
        title: typeof p.title === 'string' && p.title ? p.title : name,
      },
    ];
  });
}

/** credentialTypesOf reads the x-credentialTypes of a node config property: the types it takes. */
export function credentialTypesOf(schema: unknown): string[] | null {
  if (!isObject(schema)) return null;
  const t = schema['x-credentialTypes'];
  if (!Array.isArray(t)) return null;
  const names = t.filter((x): x is string => typeof x === 'string' && x !== '');
  return names.length > 0 ? names : null;
}

/**
 * SecretEdit is what the form does with a secret field of a stored credential: keep what is stored
 * (the input left blank), replace it (something typed), or clear it (sends null).
 */
export type SecretEdit = { kind: 'clear' } | { kind: 'keep' } | { kind: 'set'; value: string };

/**
 * CredentialFormState is the form's state: the values of the fields that are not secret (as typed:
 * strings for text and numbers, booleans, lists as lines of text), and the edit of each secret.
 */
export interface CredentialFormState {
  name: string;
  secrets: Record<string, SecretEdit>;
  values: Record<string, unknown>;
}

/** listText shows a list of strings, one per line. */
function listText(v: unknown): string {
  return Array.isArray(v) ? v.map(String).join('\n') : typeof v === 'string' ? v : '';
}

/**
 * initialFormState is the form for a new credential of fields (the defaults filled in), or for the
 * stored credential: its values, and each secret kept as it is (never shown).
 */
export function initialFormState(fields: readonly CredentialField[], stored?: CredentialFromAPI): CredentialFormState {
  const values: Record<string, unknown> = {};
  const secrets: Record<string, SecretEdit> = {};
  const data = stored?.data ?? {};
  for (const f of fields) {
    if (f.secret) {
      secrets[f.name] = stored ? { kind: 'keep' } : { kind: 'set', value: '' };
      continue;
    }
    const v = stored ? data[f.name] : f.default;
    if (f.kind === 'boolean') values[f.name] = v === true;
    else if (f.kind === 'list') values[f.name] = listText(v);
    else values[f.name] = v === undefined || v === null ? '' : String(v);
  }
  return { name: stored?.name ?? '', secrets, values };
}

/** isSecretStored reports whether the stored credential has a value for the secret field name. */
export function isSecretStored(stored: CredentialFromAPI | undefined, name: string): boolean {
  const v = stored?.data?.[name];
  return v !== undefined && v !== null && v !== '';
}

/**
 * parseFieldValue turns what a field holds into the JSON value to send: undefined when it is empty,
 * a number for a number field (NaN stays text, for the server to refuse with a message), a list of
 * the non-empty lines for a list.
 */
export function parseFieldValue(f: CredentialField, v: unknown): unknown {
  if (f.kind === 'boolean') return v === true;
  const text = typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  if (f.kind === 'list') {
    const items = text
      .split(/\r?\n|,/)
      .map((s) => s.trim())
      .filter(Boolean);
    return items.length > 0 ? items : undefined;
  }
  if (text.trim() === '') return undefined;
  if (f.kind === 'integer' || f.kind === 'number') {
    const n = Number(text);
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

/** createBody is the POST body of a new credential: only the fields that are set. */
export function createBody(type: string, fields: readonly CredentialField[], state: CredentialFormState): NewCredential {
  const data: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.secret) {
      const s = state.secrets[f.name];
      if (s?.kind === 'set' && s.value !== '') data[f.name] = s.value;
      continue;
    }
    const v = parseFieldValue(f, state.values[f.name]);
    if (v !== undefined) data[f.name] = v;
  }
  return { data, name: state.name.trim(), type };
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/**
 * patchBody is the PATCH body of an edit of stored: the name when it changed; each non-secret field
 * that changed (null when emptied); each secret only when something was typed (its value) or it is
 * cleared (null). A secret left blank is not sent, so the server keeps it.
 */
export function patchBody(fields: readonly CredentialField[], stored: CredentialFromAPI, state: CredentialFormState): CredentialPatch {
  const out: CredentialPatch = {};
  const name = state.name.trim();
  if (name !== stored.name) out.name = name;
  const data: Record<string, unknown> = {};
  const before = stored.data ?? {};
  for (const f of fields) {
    if (f.secret) {
      const s = state.secrets[f.name];
      if (s?.kind === 'set' && s.value !== '') data[f.name] = s.value;
      else if (s?.kind === 'clear' && isSecretStored(stored, f.name)) data[f.name] = null;
      continue;
    }
    const v = parseFieldValue(f, state.values[f.name]);
    const was = before[f.name];
    if (v === undefined) {
      if (was !== undefined && was !== null && !(f.kind === 'boolean')) data[f.name] = null;
      continue;
    }
    if (f.kind === 'boolean' && (was === undefined || was === null) && v === false) continue;
    if (!sameValue(v, was)) data[f.name] = v;
  }
  if (Object.keys(data).length > 0) out.data = data;
  return out;
}

/**
 * credentialFieldErrors maps a 422's errors to fields: body.data.port, /data/port → "port"; anything
 * else (the name, the whole data) keeps its path ("name", "data").
 */
export function credentialFieldErrors(err: unknown): Record<string, string> {
  if (!(err instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fieldErrors(err.problem))) {
    const key = k.startsWith('data.') ? k.slice(5).split('.')[0]! : k;
    if (!(key in out)) out[key] = v;
  }
  return out;
}

/** WorkflowUse is a workflow that uses a credential, from a 409 answer to a delete. */
export interface WorkflowUse {
  id: string;
  name: string;
}

/** quotedName reads the name a message quotes (used by workflow "Orders"); the server does not escape it. */
function quotedName(message: string): string | null {
  const m = /"(.*)"/.exec(message);
  return m ? m[1]! : null;
}

/** workflowsUsing reads the workflows a refused delete names (errors: location workflows/<id>). */
export function workflowsUsing(err: unknown): WorkflowUse[] | null {
  if (!(err instanceof ApiError) || err.status !== 409) return null;
  const out: WorkflowUse[] = [];
  for (const e of err.problem?.errors ?? []) {
    const loc = (e.location ?? '').replace(/^\//, '');
    const id = typeof e.value === 'string' && e.value ? e.value : loc.startsWith('workflows/') ? loc.slice('workflows/'.length) : '';
    if (!id) continue;
    out.push({ id, name: quotedName(e.message ?? '') ?? id });
  }
  return out;
}

// --- Queries and calls ----------------------------------------------------------------------------

/** credentialQueries holds the query factories for credentials and their types. */
export const credentialQueries = {
  all: () => ['credentials'] as const,
  detail: (id: string) =>
    queryOptions({
      queryFn: async ({ signal }) => (await request<CredentialFromAPI>(`/api/v1/credentials/${encodeURIComponent(id)}`, { signal })).data,
      queryKey: [...credentialQueries.all(), 'detail', id] as const,
    }),
  /**
   * list lists the workspace's credentials, of the given types only when types are given. One type is
   * filtered by the server (?type=); several are filtered here, from the whole list: the server reads
   * only the first of repeated type parameters (and the list is not paged).
   */
  list: (types: readonly string[] = []) => {
    const sorted = [...new Set(types)].sort();
    // The key holds the whole sorted list, of which sorted[0] is part: the rule does not see that.
    // eslint-disable-next-line @tanstack/query/exhaustive-deps
    return queryOptions({
      queryFn: async ({ signal }) => {
        const res = await request<Schemas['ListCredentialsOutputBody']>('/api/v1/credentials', {
          query: { type: sorted.length === 1 ? sorted[0] : undefined },
          signal,
        });
        const items = (res.data.items ?? []).filter((c) => sorted.length === 0 || sorted.includes(c.type));
        return items.sort((a, b) => a.name.localeCompare(b.name));
      },
      queryKey: [...credentialQueries.all(), 'list', sorted] as const,
    });
  },
  types: () =>
    queryOptions({
      queryFn: async ({ signal }) => {
        const res = await request<Schemas['ListCredentialTypesOutputBody']>('/api/v1/credential-types', { signal });
        return [...(res.data.items ?? [])].sort((a, b) => a.title.localeCompare(b.title));
      },
      queryKey: ['credential-types'] as const,
      staleTime: Infinity,
    }),
};

/** createCredential stores a new credential. */
export async function createCredential(body: NewCredential): Promise<CredentialFromAPI> {
  return (await request<CredentialFromAPI>('/api/v1/credentials', { body, method: 'POST' })).data;
}

/** updateCredential changes a credential's name or data (see CredentialPatch). */
export async function updateCredential(id: string, body: CredentialPatch): Promise<CredentialFromAPI> {
  return (await request<CredentialFromAPI>(`/api/v1/credentials/${encodeURIComponent(id)}`, { body, method: 'PATCH' })).data;
}

/** deleteCredential removes a credential; a 409 (ApiError) names the workflows that use it. */
export async function deleteCredential(id: string): Promise<void> {
  await request<undefined>(`/api/v1/credentials/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** testCredential checks that a credential connects; a failed check is ok false, not an error. */
export async function testCredential(id: string): Promise<CredentialTestFromAPI> {
  return (await request<CredentialTestFromAPI>(`/api/v1/credentials/${encodeURIComponent(id)}/test`, { method: 'POST' })).data;
}
