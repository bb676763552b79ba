import { describe, expect, it } from 'vitest';

import { layoutGraph, placeUnpositioned } from './layout';

describe('layoutGraph', () => {
  it('lays a chain out left to right and branches one above the other', () => {
    const pos = layoutGraph(
      [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }],
      [
        { source: 'a', target: 'b' },
        { source: 'b', target: 'c' },
        { source: 'b', target: 'd' },
      ],
    );
    const a = pos.get('a')!;
    const b = pos.get('b')!;
    const c = pos.get('c')!;
    const d = pos.get('d')!;
    expect(b.x).toBeGreaterThan(a.x);
    expect(c.x).toBeGreaterThan(b.x);
    expect(c.x).toBe(d.x);
    expect(Math.abs(c.y - d.y)).toBeGreaterThanOrEqual(80);
  });
});

describe('placeUnpositioned', () => {
  it('lays out an imported graph whose nodes have no positions instead of stacking them', () => {
    const def = placeUnpositioned({
      edges: [
        { source: 'start', target: 'a' },
        { source: 'a', target: 'b' },
        { source: 'a', target: 'c' },
      ],
      name: 'imported',
      nodes: ['start', 'a', 'b', 'c'].map((id) => ({ id, type: 'data.set' })),
    });
    const pos = new Map(def.nodes!.map((n) => [n.id, n.position!]));
    expect(new Set([...pos.values()].map((p) => `${p.x},${p.y}`)).size).toBe(4);
    expect(pos.get('start')!.x).toBeLessThan(pos.get('a')!.x);
    expect(pos.get('a')!.x).toBeLessThan(pos.get('b')!.x);
    expect(pos.get('b')!.y).not.toBe(pos.get('c')!.y);
  });

  it('keeps the positions a file has and places the rest below them', () => {
    const def = placeUnpositioned({
      edges: [],
      name: 'mixed',
      nodes: [
        { id: 'kept', position: { x: 40, y: 300 }, type: 'data.set' },
        { id: 'new_a', type: 'data.set' },
        { id: 'new_b', type: 'data.set' },
      ],
    });
    const pos = new Map(def.nodes!.map((n) => [n.id, n.position!]));
    expect(pos.get('kept')).toEqual({ x: 40, y: 300 });
    expect(pos.get('new_a')!.y).toBeGreaterThan(300);
    expect(pos.get('new_a')).not.toEqual(pos.get('new_b'));
  });

  it('leaves a definition whose nodes all have positions as it is', () => {
    const def = { edges: [], name: 'x', nodes: [{ id: 'a', position: { x: 1, y: 2 }, type: 't' }] };
    expect(placeUnpositioned(def)).toBe(def);
  });
});

describe('layoutGraph branch order', () => {
  const ifPorts = ['true', 'false'];
  const cases: {
    edges: { source: string; sourceHandle: string; target: string }[];
    name: string;
    nodes: { id: string; ports?: string[] }[];
    order: string[];
  }[] = [
    {
      edges: [
        { source: 'check', sourceHandle: 'false', target: 'no' },
        { source: 'check', sourceHandle: 'true', target: 'yes' },
      ],
      name: 'true above false when the false edge comes first',
      nodes: [{ id: 'check', ports: ifPorts }, { id: 'no' }, { id: 'yes' }],
      order: ['yes', 'no'],
    },
    {
      edges: [
        { source: 'check', sourceHandle: 'true', target: 'yes' },
        { source: 'check', sourceHandle: 'false', target: 'no' },
      ],
      name: 'true above false when the true edge comes first',
      nodes: [{ id: 'check', ports: ifPorts }, { id: 'yes' }, { id: 'no' }],
      order: ['yes', 'no'],
    },
    {
      edges: [
        { source: 'route', sourceHandle: 'default', target: 'd' },
        { source: 'route', sourceHandle: 'b', target: 'bb' },
        { source: 'route', sourceHandle: 'a', target: 'aa' },
        { source: 'route', sourceHandle: 'c', target: 'cc' },
      ],
      name: 'switch cases follow their port order, default last',
      nodes: [{ id: 'route', ports: ['a', 'b', 'c', 'default'] }, { id: 'd' }, { id: 'cc' }, { id: 'bb' }, { id: 'aa' }],
      order: ['aa', 'bb', 'cc', 'd'],
    },
    {
      edges: [
        { source: 'start', sourceHandle: 'out', target: 'check' },
        { source: 'check', sourceHandle: 'false', target: 'no' },
        { source: 'check', sourceHandle: 'true', target: 'yes' },
        { source: 'no', sourceHandle: 'out', target: 'no2' },
        { source: 'yes', sourceHandle: 'out', target: 'yes2' },
      ],
      name: 'branches with tails keep their order',
      nodes: [{ id: 'start' }, { id: 'no2' }, { id: 'no' }, { id: 'check', ports: ifPorts }, { id: 'yes' }, { id: 'yes2' }],
      order: ['yes', 'no'],
    },
  ];
  it.each(cases)('$name', ({ edges, nodes, order }) => {
    const pos = layoutGraph(
      nodes.map((n) => ({ ...n, height: 80 })),
      edges,
    );
    const ys = order.map((id) => pos.get(id)!.y);
    for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeGreaterThanOrEqual(ys[i - 1]! + 80);
    // Nodes of one layer never overlap.
    const all = [...pos.entries()];
    for (const [a, pa] of all) {
      for (const [b, pb] of all) {
        if (a < b && pa.x === pb.x) expect(Math.abs(pa.y - pb.y)).toBeGreaterThanOrEqual(80);
      }
    }
  });
});
