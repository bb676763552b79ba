import { describe, expect, it } from 'vitest';

import { outputShapes, sampleOf, shapeOf, type Schema } from './outputShape';

const webhook: Schema = {
  properties: { body: {}, headers: { type: 'object' }, method: { type: 'string' }, query: { type: 'object' } },
  type: 'object',
};
const http: Schema = { properties: { body: {}, status: { type: 'integer' }, tags: { items: { type: 'string' }, type: 'array' } }, type: 'object' };
const set: Schema = { type: 'object', 'x-cm-fields': 'fields', 'x-cm-keep-input': 'keepInput' };
const pass: Schema = { 'x-cm-passthrough': true };
const schemas: Record<string, Schema> = { 'data.set': set, 'flow.if': pass, 'http.request': http, 'trigger.webhook': webhook };
const schemaOf = (t: string) => schemas[t];

describe('sampleOf', () => {
  it.each([
    ['string', { type: 'string' }, ''],
    ['integer', { type: 'integer' }, 0],
    ['boolean', { type: 'boolean' }, false],
    ['array of strings', { items: { type: 'string' }, type: 'array' }, ['']],
    ['array without items', { type: 'array' }, []],
    ['untyped', {}, null],
    ['nullable union', { type: ['string', 'null'] }, ''],
    ['object', http, { body: null, status: 0, tags: [''] }],
    ['properties without a type', { properties: { a: { type: 'number' } } }, { a: 0 }],
  ])('%s', (_, schema, want) => {
    expect(sampleOf(schema)).toEqual(want);
  });

  it('stops at a depth bound', () => {
    let deep: Schema = { type: 'string' };
    for (let i = 0; i < 50; i++) deep = { properties: { d: deep }, type: 'object' };
    const s = JSON.stringify(sampleOf(deep));
    expect(s.split('"d"').length - 1).toBe(7);
  });
});

describe('shapeOf', () => {
  it('passes the input through', () => {
    expect(shapeOf(pass, {}, { a: 1 })).toEqual({ a: 1 });
  });
  it('reads data.set fields, literal or not, over the input unless keepInput is false', () => {
    const config = { fields: { id: '{{ input.id }}', n: 3 } };
    expect(shapeOf(set, config, { a: 1 })).toEqual({ a: 1, id: null, n: 3 });
    expect(shapeOf(set, { ...config, keepInput: false }, { a: 1 })).toEqual({ id: null, n: 3 });
    expect(shapeOf(set, { fields: 'not an object' }, undefined)).toEqual({});
  });
  it('is undefined without a schema', () => {
    expect(shapeOf(undefined, {}, { a: 1 })).toBeUndefined();
  });
});

describe('outputShapes', () => {
  const nodes = [
    { config: {}, id: 'hook', type: 'trigger.webhook' },
    { config: { condition: '{{ true }}' }, id: 'check', type: 'flow.if' },
    { config: { fields: { vip: true } }, id: 'tag', type: 'data.set' },
    { config: {}, id: 'call', type: 'http.request' },
    { config: {}, id: 'mystery', type: 'plugin.unknown' },
  ];
  const edges = [
    { source: 'hook', target: 'check' },
    { source: 'check', target: 'tag' },
    { source: 'tag', target: 'call' },
  ];

  it('fills nodes and input from the schemas along the graph', () => {
    const got = outputShapes({}, 'call', nodes, edges, schemaOf);
    expect(got.input).toEqual({ body: null, headers: {}, method: '', query: {}, vip: true });
    expect(got.nodes).toEqual({
      check: { body: null, headers: {}, method: '', query: {} },
      hook: { body: null, headers: {}, method: '', query: {} },
      tag: { body: null, headers: {}, method: '', query: {}, vip: true },
    });
  });

  it('treats null as not shown (the server answers null without a run)', () => {
    const got = outputShapes({ input: null, nodes: { hook: null } }, 'tag', nodes, edges, schemaOf);
    expect(got.input).toEqual({ body: null, headers: {}, method: '', query: {} });
    expect(got.nodes?.hook).toEqual({ body: null, headers: {}, method: '', query: {} });
  });

  it('keeps what the run showed and builds on it', () => {
    const got = outputShapes({ input: { real: 1 }, nodes: { hook: { body: { order: 7 } } } }, 'tag', nodes, edges, schemaOf);
    expect(got.input).toEqual({ real: 1 });
    expect(got.nodes?.hook).toEqual({ body: { order: 7 } });
    expect(got.nodes?.check).toEqual({ body: { order: 7 } });
    expect(got.nodes?.call).toEqual({ body: null, status: 0, tags: [''] });
  });

  it('returns the same scope when nothing is known, and survives a loop', () => {
    const scope = { vars: {} };
    expect(outputShapes(scope, 'a', [{ config: {}, id: 'a', type: 'x' }], [], schemaOf)).toBe(scope);
    const loop = [
      { config: {}, id: 'a', type: 'flow.if' },
      { config: {}, id: 'b', type: 'flow.if' },
    ];
    const got = outputShapes(
      {},
      'z',
      loop,
      [
        { source: 'a', target: 'b' },
        { source: 'b', target: 'a' },
      ],
      schemaOf,
    );
    expect(got.nodes).toBeUndefined();
  });
});
