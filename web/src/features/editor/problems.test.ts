import { describe, expect, it } from 'vitest';

import { configErrorTree, mapProblems, problemLabel } from './problems';

describe('mapProblems', () => {
  it('places errors on the node and edge at the index of the body that was sent, and the field under it', () => {
    const p = mapProblems(
      {
        detail: 'the workflow has 4 problems',
        errors: [
          { location: '/nodes/1/config/url', message: 'minLength: got 0, want 1' },
          { location: '/nodes/1/config/headers/X~1Y', message: 'bad header' },
          { location: '/edges/0/target', message: 'unknown node' },
          { location: '/name', message: 'required' },
        ],
        status: 422,
        title: 'Unprocessable Entity',
        type: 'urn:x',
      },
      ['start', 'fetch'],
      ['start:out->zz:in'],
    );
    expect(p.count).toBe(4);
    expect(p.byNode.get('fetch')).toEqual([
      { message: 'minLength: got 0, want 1', path: ['config', 'url'] },
      { message: 'bad header', path: ['config', 'headers', 'X/Y'] },
    ]);
    expect(p.byEdge.get('start:out->zz:in')).toEqual(['target: unknown node']);
    expect(p.global).toEqual([{ location: '/name', message: 'required' }]);
    expect(configErrorTree(p.byNode.get('fetch'))).toEqual({
      headers: { 'X/Y': { __errors: ['bad header'] } },
      url: { __errors: ['minLength: got 0, want 1'] },
    });
  });

  it('keeps a problem without errors as one global message', () => {
    const p = mapProblems({ detail: 'nope', status: 422, title: 'Unprocessable Entity', type: 'x' }, [], []);
    expect(p.global).toEqual([{ location: '', message: 'nope' }]);
  });
});

describe('problemLabel', () => {
  const switchSchema = {
    properties: {
      cases: {
        items: { properties: { port: { title: 'Port', type: 'string' }, when: { type: 'string' } }, type: 'object' },
        title: 'Cases',
        type: 'array',
      },
      value: { title: 'Value' },
    },
    type: 'object',
  };
  it.each([
    { path: ['config', 'cases', '0'], want: 'Case 1' },
    { path: ['config', 'cases', '1', 'port'], want: 'Case 2 › Port' },
    { path: ['config', 'cases', '2', 'when'], want: 'Case 3 › when' },
    { path: ['config', 'value'], want: 'Value' },
    { path: ['config', 'unknown', '0'], want: 'Unknown 1' },
    { path: ['retry', 'maxAttempts'], want: 'retry › maxAttempts' },
    { path: [], want: '' },
  ])('reads $path as "$want"', ({ path, want }) => {
    expect(problemLabel(path, switchSchema)).toBe(want);
  });
});
