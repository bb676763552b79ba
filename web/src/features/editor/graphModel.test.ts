import { describe, expect, it } from 'vitest';

import { catalogFactory } from '@test/factories';

import { baseIdFor, definitionFromGraph, graphFromDefinition, outputPorts, uniqueNodeId, uniqueTitle } from './graphModel';

describe('graphModel', () => {
  it('round-trips a definition, filling and then dropping default ports', () => {
    const def = {
      edges: [
        { source: 'a', target: 'b' },
        { source: 'a', sourcePort: 'error', target: 'c' },
      ],
      name: 'x',
      nodes: [
        { config: { x: 1 }, id: 'a', onError: 'errorPort' as const, position: { x: 1, y: 2 }, retry: { maxAttempts: 3 }, timeout: '5s', type: 'data.set' },
        { id: 'b', position: { x: 0, y: 0 }, type: 'data.set' },
        { id: 'c', position: { x: 0, y: 0 }, type: 'data.set' },
      ],
      settings: { outputNode: 'b', retention: { maxAge: '24h', maxExecutions: 100 } },
    };
    const g = graphFromDefinition(def);
    expect(g.edges.map((e) => [e.sourceHandle, e.targetHandle])).toEqual([
      ['out', 'in'],
      ['error', 'in'],
    ]);
    expect(definitionFromGraph(g)).toEqual(def);
  });

  it('derives switch ports from its cases, and the error port from onError', () => {
    const catalog = catalogFactory();
    const ports = outputPorts(catalog.get('flow.switch'), {
      config: { cases: [{ condition: '{{ true }}', port: 'high' }, { condition: '{{ true }}', port: 'low' }, { port: '' }] },
      onError: 'errorPort',
      type: 'flow.switch',
    });
    expect(ports.map((p) => p.name)).toEqual(['high', 'low', 'default', 'error']);
  });

  it('makes ids that are expression identifiers', () => {
    expect(baseIdFor('http.request')).toBe('request');
    expect(baseIdFor('acme.2fa-Check')).toBe('n_2fa_check');
    expect(uniqueNodeId('request', new Set(['request', 'request_2']))).toBe('request_3');
    expect(uniqueNodeId('fetch_7', new Set(['fetch_7']))).toBe('fetch_8');
  });
});

describe('uniqueTitle', () => {
  it.each([
    { base: 'Set fields', taken: [], want: 'Set fields' },
    { base: 'Set fields', taken: ['Set fields'], want: 'Set fields 2' },
    { base: 'Set fields', taken: ['Set fields', 'Set fields 2', 'Set fields 3'], want: 'Set fields 4' },
    { base: 'Set fields 2', taken: ['Set fields', 'Set fields 2'], want: 'Set fields 3' },
    { base: 'Step 9', taken: ['Step 9', 'Step 10'], want: 'Step 11' },
    { base: '  Trimmed  ', taken: [], want: 'Trimmed' },
    { base: '', taken: [], want: 'Node' },
    { base: 'x'.repeat(300), taken: [], want: 'x'.repeat(194) },
  ])('$base with $taken.length taken → $want', ({ base, taken, want }) => {
    expect(uniqueTitle(base, new Set(taken))).toBe(want);
  });
});
