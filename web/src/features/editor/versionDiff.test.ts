import { describe, expect, it } from 'vitest';

import type { DefinitionFromAPI, NodeFromAPI } from '@services/workflows';

import { graphFromDefinition } from './graphModel';
import { changeStatus, diffPicture, diffValues, diffVersions, formatValue, MAX_DEPTH, MAX_VALUE_CHANGES, sameValue, type VersionDiff } from './versionDiff';

const start: NodeFromAPI = { id: 'start', position: { x: 0, y: 0 }, type: 'trigger.manual' };
const set: NodeFromAPI = { config: { fields: { size: 'big' } }, id: 'set', position: { x: 300, y: 0 }, type: 'data.set' };
const call: NodeFromAPI = { config: { method: 'GET', url: 'https://a.example' }, id: 'call', position: { x: 600, y: 0 }, type: 'http.request' };

function def(nodes: NodeFromAPI[], edges: DefinitionFromAPI['edges'] = [], extra: Partial<DefinitionFromAPI> = {}): DefinitionFromAPI {
  return { edges, name: 'wf', nodes, ...extra };
}

const base = def([start, set], [{ source: 'start', target: 'set' }]);

/** summary flattens a diff into what a reader of the list sees, for compact expectations. */
function summary(d: VersionDiff) {
  return {
    added: d.added.map((n) => n.id),
    changed: d.changed.map((c) => ({ config: c.config, id: c.id, kinds: c.kinds, rename: c.rename, settings: c.settings })),
    edgesAdded: d.edgesAdded.map((e) => e.id),
    edgesRemoved: d.edgesRemoved.map((e) => e.id),
    empty: d.empty,
    removed: d.removed.map((n) => n.id),
    workflow: d.workflow,
  };
}

const none = { added: [], changed: [], edgesAdded: [], edgesRemoved: [], empty: false, removed: [], workflow: [] };

describe('diffVersions', () => {
  const tests: { a: DefinitionFromAPI; b: DefinitionFromAPI; name: string; want: ReturnType<typeof summary> }[] = [
    { a: base, b: base, name: 'identical versions', want: { ...none, empty: true } },
    {
      a: base,
      b: def([{ ...set, config: { fields: { size: 'big' } } }, { ...start }], [{ source: 'start', sourcePort: 'out', target: 'set', targetPort: 'in' }]),
      name: 'node order and spelled-out default ports are no change',
      want: { ...none, empty: true },
    },
    {
      a: def([{ ...set, onError: 'fail', retry: {} }]),
      b: def([{ ...set, config: { fields: { size: 'big' } } }]),
      name: 'default settings spelled out are no change',
      want: { ...none, empty: true },
    },
    {
      a: base,
      b: def(
        [start, set, call],
        [
          { source: 'start', target: 'set' },
          { source: 'set', target: 'call' },
        ],
      ),
      name: 'node and edge added',
      want: { ...none, added: ['call'], edgesAdded: ['set:out->call:in'] },
    },
    {
      a: def(
        [start, set, call],
        [
          { source: 'start', target: 'set' },
          { source: 'set', target: 'call' },
        ],
      ),
      b: base,
      name: 'node and edge removed',
      want: { ...none, edgesRemoved: ['set:out->call:in'], removed: ['call'] },
    },
    {
      a: base,
      b: def([start, { ...set, position: { x: 320, y: 40 } }], [{ source: 'start', target: 'set' }]),
      name: 'moved',
      want: { ...none, changed: [{ config: [], id: 'set', kinds: ['moved'], rename: undefined, settings: [] }] },
    },
    {
      a: base,
      b: def([start, { ...set, position: { x: 300.3, y: -0.2 } }], [{ source: 'start', target: 'set' }]),
      name: 'a move under half a pixel is rounding, not a move',
      want: { ...none, empty: true },
    },
    {
      a: base,
      b: def([start, { ...set, config: { fields: { colour: 'red', size: 'small' }, keepInput: false } }], [{ source: 'start', target: 'set' }]),
      name: 'config keys changed, added and nested, in sorted order',
      want: {
        ...none,
        changed: [
          {
            config: [
              { after: 'red', before: undefined, path: 'fields.colour' },
              { after: 'small', before: 'big', path: 'fields.size' },
              { after: false, before: undefined, path: 'keepInput' },
            ],
            id: 'set',
            kinds: ['config'],
            rename: undefined,
            settings: [],
          },
        ],
      },
    },
    {
      a: def([call]),
      b: def([{ ...call, config: { method: 'GET' } }]),
      name: 'config key removed',
      want: {
        ...none,
        changed: [{ config: [{ after: undefined, before: 'https://a.example', path: 'url' }], id: 'call', kinds: ['config'], rename: undefined, settings: [] }],
      },
    },
    {
      a: def([{ ...call, config: { headers: { 'X-Token': 'a', accept: 'json' }, method: 'GET' } }]),
      b: def([{ ...call, config: { headers: { 'X-Token': 'b', accept: 'json' }, method: 'GET' } }]),
      name: 'a key that is not an identifier is quoted in the path',
      want: {
        ...none,
        changed: [{ config: [{ after: 'b', before: 'a', path: 'headers["X-Token"]' }], id: 'call', kinds: ['config'], rename: undefined, settings: [] }],
      },
    },
    {
      a: def([{ ...set, config: { list: [1, 2, 3] } }]),
      b: def([{ ...set, config: { list: [1, 2, 4] } }]),
      name: 'arrays are compared whole',
      want: {
        ...none,
        changed: [{ config: [{ after: [1, 2, 4], before: [1, 2, 3], path: 'list' }], id: 'set', kinds: ['config'], rename: undefined, settings: [] }],
      },
    },
    {
      a: base,
      b: def([start, { ...set, name: 'Size it' }], [{ source: 'start', target: 'set' }]),
      name: 'title given',
      want: { ...none, changed: [{ config: [], id: 'set', kinds: ['renamed'], rename: { idBefore: 'set', nameAfter: 'Size it' }, settings: [] }] },
    },
    {
      a: base,
      b: def([start, { ...set, id: 'size' }], [{ source: 'start', target: 'size' }]),
      name: 'id renamed: paired by type and config, its edges follow it',
      want: { ...none, changed: [{ config: [], id: 'size', kinds: ['renamed'], rename: { idBefore: 'set' }, settings: [] }] },
    },
    {
      a: base,
      b: def([start, { ...set, config: { fields: { size: 'huge' } }, id: 'size' }], [{ source: 'start', target: 'size' }]),
      name: 'id renamed and config changed: paired by type and position',
      want: {
        ...none,
        changed: [
          {
            config: [{ after: 'huge', before: 'big', path: 'fields.size' }],
            id: 'size',
            kinds: ['renamed', 'config'],
            rename: { idBefore: 'set' },
            settings: [],
          },
        ],
      },
    },
    {
      a: base,
      b: def([start, { ...set, config: { fields: { size: 'huge' } }, id: 'other', position: { x: 900, y: 900 } }], [{ source: 'start', target: 'other' }]),
      name: 'a different node of the same type elsewhere is not a rename',
      want: { ...none, added: ['other'], edgesAdded: ['start:out->other:in'], edgesRemoved: ['start:out->set:in'], removed: ['set'] },
    },
    {
      a: def([set]),
      b: def([{ ...set, concurrency: 4, forEach: '{{ input.items }}', onError: 'errorPort', retry: { maxAttempts: 3 }, timeout: '5s' }]),
      name: 'node settings changed',
      want: {
        ...none,
        changed: [
          {
            config: [],
            id: 'set',
            kinds: ['settings'],
            rename: undefined,
            settings: [
              { after: 4, before: undefined, path: 'concurrency' },
              { after: '{{ input.items }}', before: undefined, path: 'forEach' },
              { after: 'errorPort', before: 'fail', path: 'onError' },
              { after: { maxAttempts: 3 }, before: undefined, path: 'retry' },
              { after: '5s', before: undefined, path: 'timeout' },
            ],
          },
        ],
      },
    },
    {
      a: def([{ ...set, retry: { initialInterval: '1s', maxAttempts: 3 } }]),
      b: def([{ ...set, retry: { initialInterval: '1s', maxAttempts: 5 } }]),
      name: 'a retry policy changed inside',
      want: {
        ...none,
        changed: [{ config: [], id: 'set', kinds: ['settings'], rename: undefined, settings: [{ after: 5, before: 3, path: 'retry.maxAttempts' }] }],
      },
    },
    {
      a: def([set], [], { settings: { timeout: '1m', vars: { rate: 0.2 } }, tags: ['orders'] }),
      b: def([set], [], { description: 'Sizes orders', name: 'wf 2', settings: { timeout: '2m', vars: { rate: 0.2 } }, tags: ['orders', 'billing'] }),
      name: 'workflow name, description, settings and tags',
      want: {
        ...none,
        workflow: [
          { after: 'Sizes orders', before: '', path: 'description' },
          { after: 'wf 2', before: 'wf', path: 'name' },
          { after: '2m', before: '1m', path: 'settings.timeout' },
          { after: ['billing', 'orders'], before: ['orders'], path: 'tags' },
        ],
      },
    },
    {
      a: def(
        [{ ...start }, { config: { condition: '{{ true }}' }, id: 'if', type: 'flow.if' }, set],
        [
          { source: 'start', target: 'if' },
          { source: 'if', sourcePort: 'true', target: 'set' },
        ],
      ),
      b: def(
        [{ ...start }, { config: { condition: '{{ true }}' }, id: 'if', type: 'flow.if' }, set],
        [
          { source: 'start', target: 'if' },
          { source: 'if', sourcePort: 'false', target: 'set' },
        ],
      ),
      name: 'an edge moved to another port is one removed and one added',
      want: { ...none, edgesAdded: ['if:false->set:in'], edgesRemoved: ['if:true->set:in'] },
    },
    {
      a: def([{ ...set, type: 'data.set' }]),
      b: def([{ ...set, type: 'data.merge' }]),
      name: 'type changed under the same id',
      want: { ...none, changed: [{ config: [], id: 'set', kinds: ['type'], rename: undefined, settings: [] }] },
    },
    {
      a: def([{ id: 'x', type: 'data.set' }]),
      b: def([{ id: 'x', position: { x: 0, y: 0 }, type: 'data.set' }]),
      name: 'a position given where there was none is a move',
      want: { ...none, changed: [{ config: [], id: 'x', kinds: ['moved'], rename: undefined, settings: [] }] },
    },
    {
      a: { name: 'empty', nodes: null as unknown as NodeFromAPI[] },
      b: def([start]),
      name: 'missing node and edge lists count as empty',
      want: { ...none, added: ['start'], workflow: [{ after: 'wf', before: 'empty', path: 'name' }] },
    },
    {
      a: def([set], [], { tags: ['b', 'a'] }),
      b: def([set], [], { tags: ['a', 'b'] }),
      name: 'tags in another order are no change',
      want: { ...none, empty: true },
    },
  ];
  for (const tt of tests) {
    it(tt.name, () => {
      expect(summary(diffVersions(tt.a, tt.b))).toEqual(tt.want);
    });
  }

  it('names removed edges of a renamed node by their ends in A, and the picture draws them under B ids', () => {
    const a = def(
      [start, set, call],
      [
        { source: 'start', target: 'set' },
        { source: 'set', target: 'call' },
      ],
    );
    const b = def([start, { ...set, id: 'size' }, call], [{ source: 'start', target: 'size' }]);
    const d = diffVersions(a, b);
    expect(d.renamedIds).toEqual(new Map([['set', 'size']]));
    expect(d.edgesRemoved.map((e) => e.id)).toEqual(['set:out->call:in']);
    const p = diffPicture(b, d);
    expect(p.edges).toEqual(new Map([['size:out->call:in', 'removed']]));
  });

  it('bounds the config changes it lists for one node', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_VALUE_CHANGES + 10 }, (_, i) => [`k${String(i).padStart(3, '0')}`, i]));
    const d = diffVersions(def([{ ...set, config: {} }]), def([{ ...set, config: many }]));
    expect(d.changed[0]!.config).toHaveLength(MAX_VALUE_CHANGES);
    expect(d.changed[0]!.configTruncated).toBe(true);
  });
});

describe('diffValues', () => {
  it('walks objects only to MAX_DEPTH, then compares whole', () => {
    let a: unknown = 1;
    let b: unknown = 2;
    for (let i = 0; i < MAX_DEPTH + 2; i++) {
      a = { k: a };
      b = { k: b };
    }
    const { changes } = diffValues(a, b);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.path.split('.')).toHaveLength(MAX_DEPTH);
  });

  it('reports an object replaced by a scalar at its own path', () => {
    expect(diffValues({ a: { b: 1 } }, { a: 'x' }).changes).toEqual([{ after: 'x', before: { b: 1 }, path: 'a' }]);
  });
});

describe('sameValue', () => {
  const tests: { a: unknown; b: unknown; name: string; want: boolean }[] = [
    { a: { a: 1, b: [1, { c: 2 }] }, b: { b: [1, { c: 2 }], a: 1 }, name: 'key order ignored', want: true },
    { a: [1, 2], b: [2, 1], name: 'array order matters', want: false },
    { a: { a: undefined }, b: {}, name: 'a key set to undefined is still a key', want: false },
    { a: null, b: {}, name: 'null is not an object', want: false },
    { a: [], b: {}, name: 'an array is not an object', want: false },
    { a: '1', b: 1, name: 'types differ', want: false },
  ];
  for (const tt of tests) it(tt.name, () => expect(sameValue(tt.a, tt.b)).toBe(tt.want));
});

describe('formatValue', () => {
  const tests: { max?: number; name: string; v: unknown; want: string }[] = [
    { name: 'absent', v: undefined, want: '(none)' },
    { name: 'string quoted', v: 'big', want: '"big"' },
    { name: 'object pretty', v: { a: 1 }, want: '{\n  "a": 1\n}' },
    { max: 10, name: 'long text cut with an ellipsis', v: 'abcdefghijklmnop', want: '"abcdefgh…' },
    { name: 'null', v: null, want: 'null' },
  ];
  for (const tt of tests) it(tt.name, () => expect(formatValue(tt.v, tt.max)).toBe(tt.want));
});

describe('diffPicture', () => {
  it('draws B with A’s removed nodes and edges, coloured by status', () => {
    const a = def(
      [start, set, call],
      [
        { source: 'start', target: 'set' },
        { source: 'set', target: 'call' },
      ],
    );
    const b = def(
      [
        { ...start, position: { x: 10, y: 10 } },
        { ...set, config: { fields: { size: 'small' } } },
        { id: 'log', type: 'data.set' },
      ],
      [
        { source: 'start', target: 'set' },
        { source: 'set', target: 'log' },
      ],
    );
    const d = diffVersions(a, b);
    const p = diffPicture(b, d);
    expect((p.definition.nodes ?? []).map((n) => n.id)).toEqual(['start', 'set', 'log', 'call']);
    expect(Object.fromEntries(p.nodes)).toEqual({ call: 'removed', log: 'added', set: 'changed', start: 'moved' });
    expect(Object.fromEntries(p.edges)).toEqual({ 'set:out->call:in': 'removed', 'set:out->log:in': 'added' });
    // Every coloured edge exists in the drawn graph under the id the canvas gives it.
    const drawn = new Set(graphFromDefinition(p.definition).edges.map((e) => e.id));
    for (const id of p.edges.keys()) expect(drawn.has(id)).toBe(true);
    expect(changeStatus(d.changed.find((c) => c.id === 'set')!)).toBe('changed');
  });
});
