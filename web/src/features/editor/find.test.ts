import { describe, expect, it } from 'vitest';

import { catalogFactory } from '@test/factories';

import { findNodes } from './find';
import type { WorkflowNode } from './graphModel';

const node = (id: string, type: string, name?: string): Pick<WorkflowNode, 'data' | 'id'> => ({ data: { config: {}, type, ...(name ? { name } : {}) }, id });

describe('findNodes', () => {
  const catalog = catalogFactory();
  const nodes = [
    node('start', 'trigger.manual'),
    node('check', 'flow.if', 'Is it big?'),
    node('set', 'data.set'),
    node('set_2', 'data.set', 'Tax rate'),
    node('fetch', 'http.request', 'Café orders'),
  ];
  it.each([
    { q: '', want: ['start', 'check', 'set', 'set_2', 'fetch'] },
    { q: 'tax', want: ['set_2'] },
    { q: 'TAX RATE', want: ['set_2'] },
    { q: 'set', want: ['set', 'set_2'] },
    { q: 'data.set', want: ['set', 'set_2'] },
    { q: 'Set fields', want: ['set', 'set_2'] },
    { q: 'cafe', want: ['fetch'] },
    { q: 'big', want: ['check'] },
    { q: 'flow.if', want: ['check'] },
    { q: 'rate set', want: ['set_2'] },
    { q: 'ra', want: ['set_2'] },
    { q: 'or', want: ['fetch'] },
    { q: 'nothing', want: [] },
  ])('"$q" finds $want', ({ q, want }) => {
    expect(findNodes(nodes, catalog, q).map((f) => f.id)).toEqual(want);
  });
  it('bounds the list', () => {
    const many = Array.from({ length: 500 }, (_, i) => node(`n${i}`, 'data.set'));
    expect(findNodes(many, catalog, 'n', 20)).toHaveLength(20);
    expect(findNodes(many, catalog, 'n')[0]!.title).toBe('Set fields');
  });
});
