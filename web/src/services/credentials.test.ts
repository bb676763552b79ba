import { describe, expect, it } from 'vitest';

import { credentialFactory, credentialTypesFactory } from '@test/factories/credentials';

import { ApiError } from './errors';
import { createBody, credentialFieldErrors, credentialFields, credentialTypesOf, initialFormState, patchBody, STORED, workflowsUsing } from './credentials';

const postgres = credentialTypesFactory().find((t) => t.name === 'postgres')!;
const fields = credentialFields(postgres.schema);
const stored = credentialFactory({
  data: { database: 'app', host: 'db', password: STORED, port: 5432, sslmode: 'prefer', user: 'app' },
  id: 'c1',
  name: 'Main DB',
  type: 'postgres',
});

describe('credentialFields', () => {
  it('reads the fields of a schema in order, with kinds, secrets, enums and examples', () => {
    expect(fields.map((f) => [f.name, f.kind, f.secret])).toEqual([
      ['host', 'string', false],
      ['port', 'integer', false],
      ['database', 'string', false],
      ['user', 'string', false],
      ['password', 'string', true],
      ['sslmode', 'string', false],
      ['tls', 'boolean', false],
    ]);
    expect(fields.find((f) => f.name === 'host')?.example).toBe('db.example.com');
    expect(fields.find((f) => f.name === 'sslmode')?.enum).toContain('verify-full');
  });
});

describe('credentialTypesOf', () => {
  it.each([
    [{ type: 'string', 'x-credentialTypes': ['postgres'] }, ['postgres']],
    [{ type: 'string', 'x-credentialTypes': ['httpBearer', 'httpBasic'] }, ['httpBearer', 'httpBasic']],
    [{ type: 'string', 'x-credentialTypes': [] }, null],
    [{ type: 'string' }, null],
    [null, null],
  ])('%j → %j', (schema, want) => {
    expect(credentialTypesOf(schema)).toEqual(want);
  });
});

describe('createBody', () => {
  it('sends only the fields that are set, typed', () => {
    const state = initialFormState(fields);
    expect(state.values.port).toBe('5432');
    state.name = ' Main DB ';
    state.values.host = 'db';
    state.values.user = 'app';
    state.secrets.password = { kind: 'set', value: 's3cret' };
    expect(createBody('postgres', fields, state)).toEqual({
      data: { host: 'db', password: 's3cret', port: 5432, sslmode: 'prefer', tls: false, user: 'app' },
      name: 'Main DB',
      type: 'postgres',
    });
  });
});

describe('patchBody', () => {
  it('never shows a stored secret in the form state', () => {
    const state = initialFormState(fields, stored);
    expect(state.secrets.password).toEqual({ kind: 'keep' });
    expect(JSON.stringify(state)).not.toContain(STORED);
  });

  it('sends nothing for a secret left blank (the server keeps it)', () => {
    expect(patchBody(fields, stored, initialFormState(fields, stored))).toEqual({});
  });

  it('sends the name and changed fields only; an emptied field is null', () => {
    const state = initialFormState(fields, stored);
    state.name = 'Replica';
    state.values.port = '6432';
    state.values.database = '';
    expect(patchBody(fields, stored, state)).toEqual({ data: { database: null, port: 6432 }, name: 'Replica' });
  });

  it('sends a typed secret, and null for a cleared one', () => {
    const state = initialFormState(fields, stored);
    state.secrets.password = { kind: 'set', value: 'n3w' };
    expect(patchBody(fields, stored, state)).toEqual({ data: { password: 'n3w' } });
    state.secrets.password = { kind: 'clear' };
    expect(patchBody(fields, stored, state)).toEqual({ data: { password: null } });
  });
});

describe('credentialFieldErrors', () => {
  it('maps body.data.<field> and /data/<field> to the field', () => {
    const err = new ApiError(
      422,
      {
        detail: 'validation failed',
        errors: [
          { location: 'body.data.port', message: 'must be between 1 and 65535' },
          { location: '/data/host', message: 'is required' },
          { location: 'body.name', message: 'is taken' },
        ],
        status: 422,
        title: 'Unprocessable Entity',
        type: 'about:blank',
      },
      'x',
    );
    expect(credentialFieldErrors(err)).toEqual({ host: 'is required', name: 'is taken', port: 'must be between 1 and 65535' });
  });
});

describe('workflowsUsing', () => {
  it('reads the workflows of a 409, and nothing from other errors', () => {
    const err = new ApiError(
      409,
      {
        detail: 'the credential is used by 2 workflows: Orders, Report',
        errors: [
          { location: 'workflows/w1', message: 'used by workflow "Orders"', value: 'w1' },
          { location: '/workflows/w2', message: 'used by workflow "Nightly "report""' },
        ],
        status: 409,
        title: 'Conflict',
        type: 'about:blank',
      },
      'x',
    );
    expect(workflowsUsing(err)).toEqual([
      { id: 'w1', name: 'Orders' },
      { id: 'w2', name: 'Nightly "report"' },
    ]);
    expect(workflowsUsing(new ApiError(404, null, 'x'))).toBeNull();
  });
});
