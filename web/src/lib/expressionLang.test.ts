import { describe, expect, it } from 'vitest';

import { completeAt, findRegions, parsePath, tokenize, type ExpressionScope } from './expressionLang';

const scope: ExpressionScope = {
  functions: [{ doc: 's in upper case', name: 'upper', own: false, signature: 'upper(s string) string' }],
  input: { customer: { name: 'ada' }, items: [{ sku: 'A1' }], total: 150 },
  nodes: { fetch: { body: { ok: true } }, start: undefined },
  vars: { region: 'eu' },
};

describe('findRegions', () => {
  it.each([
    ['plain', 'no braces', []],
    ['one', 'a {{ x }} b', [{ closed: true, from: 2, innerFrom: 4, innerTo: 7, to: 9 }]],
    ['unclosed', '{{ input.', [{ closed: false, from: 0, innerFrom: 2, innerTo: 9, to: 9 }]],
    ['string holds braces', '{{ "}}" }}', [{ closed: true, from: 0, innerFrom: 2, innerTo: 8, to: 10 }]],
    ['map literal', '{{ {a: {b: 1}} }}', [{ closed: true, from: 0, innerFrom: 2, innerTo: 15, to: 17 }]],
  ])('%s', (_name, text, want) => {
    expect(findRegions(text)).toEqual(want);
  });

  it('finds several', () => {
    expect(findRegions('{{ a }} and {{ b }}').map((r) => r.from)).toEqual([0, 12]);
  });
});

describe('tokenize', () => {
  const kinds = (text: string) => tokenize(text).map((t) => `${t.kind}:${text.slice(t.from, t.to)}`);

  it.each([
    ['text outside is not tokenized', 'Hi {{ input.name }}!', ['brace:{{', 'variable:input', 'punctuation:.', 'property:name', 'brace:}}']],
    [
      'call and literals',
      '{{ upper("x") + 1.5 }}',
      ['brace:{{', 'function:upper', 'punctuation:(', 'string:"x"', 'punctuation:)', 'operator:+', 'number:1.5', 'brace:}}'],
    ],
    ['keywords', '{{ a and not true or nil }}', ['brace:{{', 'property:a', 'keyword:and', 'keyword:not', 'bool:true', 'keyword:or', 'nil:nil', 'brace:}}']],
    ['range', '{{ 1..3 }}', ['brace:{{', 'number:1', 'operator:..', 'number:3', 'brace:}}']],
    ['optional chaining', '{{ input?.a }}', ['brace:{{', 'variable:input', 'punctuation:?.', 'property:a', 'brace:}}']],
    [
      'predicate',
      '{{ filter(xs, # > 1) }}',
      ['brace:{{', 'function:filter', 'punctuation:(', 'property:xs', 'punctuation:,', 'variable:#', 'operator:>', 'number:1', 'punctuation:)', 'brace:}}'],
    ],
    ['unclosed has no closing brace', '{{ input.', ['brace:{{', 'variable:input', 'punctuation:.']],
  ])('%s', (_name, text, want) => {
    expect(kinds(text)).toEqual(want);
  });
});

describe('parsePath', () => {
  it('splits names, indexes and quoted keys', () => {
    expect(parsePath('nodes.fetch.output.items[0]["a b"]')).toEqual(['nodes', 'fetch', 'output', 'items', '0', 'a b']);
  });
});

describe('completeAt', () => {
  const labels = (text: string, pos = text.length) => completeAt(text, pos, scope)?.items.map((i) => i.label);

  it('proposes nothing outside {{ }}', () => {
    expect(completeAt('input.', 6, scope)).toBeNull();
    expect(completeAt('{{ x }} input.', 14, scope)).toBeNull();
  });

  it('proposes nothing inside a string literal', () => {
    expect(completeAt('{{ "input.', 10, scope)).toBeNull();
  });

  it('proposes the roots and the functions at the start', () => {
    const res = completeAt('{{ up', 5, scope)!;
    expect(res.from).toBe(3);
    expect(res.items.map((i) => i.label)).toEqual(
      expect.arrayContaining(['input', 'nodes', 'trigger', 'vars', 'execution', 'workflow', 'item', 'index', 'upper']),
    );
    expect(res.items.find((i) => i.label === 'upper')).toMatchObject({ detail: 'upper(s string) string', info: 's in upper case', type: 'function' });
    expect(res.items.find((i) => i.label === 'input')?.detail).toBe('object');
  });

  it.each([
    ['input fields from the last run', '{{ input.', ['customer', 'items', 'total']],
    ['nested fields', '{{ input.customer.', ['name']],
    ['array element fields', '{{ input.items[0].', ['sku']],
    ['node ids', '{{ nodes.', ['fetch', 'start']],
    ['node output', '{{ nodes.fetch.', ['output', 'status']],
    ['node output fields', '{{ nodes.fetch.output.body.', ['ok']],
    ['vars', 'x {{ vars.', ['region']],
    ['execution without a run', '{{ execution.', ['id', 'startedAt', 'trigger']],
    ['workflow without a run', '{{ workflow.', ['id', 'name', 'version']],
    ['unknown data', '{{ trigger.', []],
  ])('%s', (_name, text, want) => {
    expect(labels(text)).toEqual(want);
  });

  it('replaces the partial field name', () => {
    const res = completeAt('{{ input.cu }}', 11, scope)!;
    expect(res.from).toBe(9);
    expect(res.items.map((i) => i.label)).toContain('customer');
  });

  it('describes sample values', () => {
    expect(completeAt('{{ input.', 9, scope)!.items.find((i) => i.label === 'total')?.detail).toBe('150');
  });
});
