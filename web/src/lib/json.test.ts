import { describe, expect, it } from 'vitest';

import { formatLooseValue, hasExpression, isRecord, parseJsonSafe, parseLooseValue, readFileText } from './json';

describe('json helpers', () => {
  it.each([
    [{}, true],
    [{ a: 1 }, true],
    [[], false],
    [null, false],
    ['x', false],
  ])('isRecord(%j) is %s', (v, want) => expect(isRecord(v)).toBe(want));

  it('parseJsonSafe answers the value or the parse error', () => {
    expect(parseJsonSafe('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    const bad = parseJsonSafe('{');
    expect(bad.ok).toBe(false);
    expect(bad.ok ? '' : bad.error).not.toBe('');
  });

  it.each([
    ['{{ input.a }}', true],
    ['a {{\n x }} b', true],
    ['{{ not closed', false],
    [42, false],
  ])('hasExpression(%j) is %s', (v, want) => expect(hasExpression(v)).toBe(want));

  it.each([
    ['', ''],
    ['  ', '  '],
    ['42', 42],
    ['-1.5e3', -1500],
    ['true', true],
    ['null', null],
    ['[1, 2]', [1, 2]],
    ['{"a": 1}', { a: 1 }],
    ['{not json', '{not json'],
    ['hello', 'hello'],
    ['{{ input.total }}', '{{ input.total }}'],
    ['007x', '007x'],
  ])('parseLooseValue(%j) is %j', (text, want) => expect(parseLooseValue(text)).toEqual(want));

  it.each([
    [undefined, ''],
    ['text', 'text'],
    [42, '42'],
    [{ a: [1] }, '{"a":[1]}'],
    [null, 'null'],
  ])('formatLooseValue(%j) is %j', (v, want) => expect(formatLooseValue(v)).toBe(want));

  it('readFileText reads a blob as text', async () => {
    await expect(readFileText(new Blob(['{"name":"x"}']))).resolves.toBe('{"name":"x"}');
  });
});
