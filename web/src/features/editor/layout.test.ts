import { describe, expect, it } from 'vitest';

import { layoutGraph, placeUnpositioned } from './layout';

describe('layoutGraph', () => {
  it('lays a chain out left to right and branches one above the other', () => {
    const pos = layoutGraph(
      [{ id: 'a' }, { id: 'b' }, { id: 'c' }, { id: 'd' }],
      [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }, { source: 'b', target: 'd' }],
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
