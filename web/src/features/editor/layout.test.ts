import { describe, expect, it } from 'vitest';

import { layoutGraph } from './layout';

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
