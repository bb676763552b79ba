import { describe, expect, it } from 'vitest';

import { buildUiSchema, dropConditionals, itemTitle, prepareSchema, valueKindOfMap, WIDGET_NAMES, type ItemUiSchema, type UiSchema } from './schemaForm';

describe('schema form preparation', () => {
  it('turns a root oneOf of required sets into a note and drops $schema', () => {
    const s = prepareSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      oneOf: [{ required: ['duration'] }, { required: ['until'] }],
      properties: { duration: { type: 'string' }, until: { type: 'string' } },
      type: 'object',
    });
    expect(s.$schema).toBeUndefined();
    expect(s.oneOf).toBeUndefined();
    expect(s.description).toBe('Set exactly one of: duration, until.');
  });

  it('gives every string property with x-credentialTypes the credential picker, before any other editor', () => {
    const ui = buildUiSchema(
      prepareSchema({
        properties: {
          credential: { minLength: 1, title: 'Credential', type: 'string', 'x-credentialTypes': ['postgres'] },
          // Even one that says it takes an expression, or is write-only, is picked, never typed.
          other: { type: 'string', writeOnly: true, 'x-cm-expression': true, 'x-credentialTypes': ['httpBearer', 'httpBasic'] },
          plain: { type: 'string', 'x-credentialTypes': [] },
        },
        type: 'object',
      }),
    );
    expect(ui.credential).toEqual({ 'ui:widget': WIDGET_NAMES.credential });
    expect(ui.other).toEqual({ 'ui:widget': WIDGET_NAMES.credential });
    expect(ui.plain).toBeUndefined();
  });

  it('picks expression, JSON and key/value fields where rjsf has none', () => {
    const ui = buildUiSchema(
      prepareSchema({
        properties: {
          body: { title: 'Body' },
          cases: { items: { properties: { condition: { 'x-cm-expression': true }, port: { type: 'string' } }, type: 'object' }, type: 'array' },
          condition: { type: 'string', 'x-cm-expression': true },
          fields: { type: 'object' },
          headers: { additionalProperties: { type: 'string' }, type: 'object' },
          method: { enum: ['GET'], type: 'string' },
        },
        type: 'object',
      }),
    );
    expect(((ui.cases as UiSchema).items as ItemUiSchema)({}, 0)).toEqual({ condition: { 'ui:field': 'cmExpression' }, 'ui:title': 'Case 1' });
    expect(ui).toEqual({
      body: { 'ui:field': 'cmJson' },
      cases: { items: expect.any(Function) },
      condition: { 'ui:field': 'cmExpression' },
      fields: { 'ui:field': 'cmKeyValue' },
      headers: { 'ui:field': 'cmKeyValue' },
    });
  });

  it('reads the value kind of a map from additionalProperties', () => {
    expect(valueKindOfMap({ additionalProperties: { type: 'string' } })).toBe('string');
    expect(valueKindOfMap({ additionalProperties: { type: ['string', 'number', 'boolean'] } })).toBe('scalar');
    expect(valueKindOfMap({ type: 'object' })).toBe('any');
  });
});

describe('dropConditionals', () => {
  it('removes if/then/else at every depth, which ajv would compile with eval, and keeps properties named like them', () => {
    const schema = {
      type: 'object',
      properties: {
        auth: {
          type: 'object',
          properties: { type: { enum: ['header', 'hmac'] }, if: { type: 'string' } },
          allOf: [{ if: { properties: { type: { const: 'header' } } }, then: { required: ['name'] } }, { required: ['type'] }],
        },
      },
    };
    expect(dropConditionals(schema)).toEqual({
      type: 'object',
      properties: { auth: { type: 'object', properties: { type: { enum: ['header', 'hmac'] }, if: { type: 'string' } }, allOf: [{ required: ['type'] }] } },
    });
  });
});

describe('itemTitle', () => {
  it.each([
    { list: 'Cases', index: 0, want: 'Case 1' },
    { list: 'Cases', index: 1, want: 'Case 2' },
    { list: 'headers', index: 1, want: 'Header 2' },
    { list: 'Entries', index: 2, want: 'Entry 3' },
    { list: 'Boxes', index: 0, want: 'Box 1' },
    { list: 'Status', index: 0, want: 'Status 1' },
    { list: '', index: 0, want: 'Item 1' },
  ])('calls item $index of $list "$want"', ({ index, list, want }) => {
    expect(itemTitle(list, index)).toBe(want);
  });

  it('titles the items of every list in the uiSchema after the list', () => {
    const ui = buildUiSchema({
      properties: {
        cases: { items: { properties: { port: { type: 'string' } }, type: 'object' }, title: 'Cases', type: 'array' },
        tags: { items: { type: 'string' }, type: 'array' },
      },
      type: 'object',
    });
    const cases = ui.cases as UiSchema;
    const tags = ui.tags as UiSchema;
    expect(typeof cases.items).toBe('function');
    expect((cases.items as ItemUiSchema)({}, 0)['ui:title']).toBe('Case 1');
    expect((tags.items as ItemUiSchema)('x', 2)['ui:title']).toBe('Tag 3');
  });
});
