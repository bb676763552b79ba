import { screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { NodeTypeFromAPI } from '@services/nodeTypes';
import { definitionFactory, executionFactory, nodeFactory, nodeRunFactory, workflowFactory } from '@test/factories';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { EditorPage } from './EditorPage';

afterEach(() => {
  vi.unstubAllGlobals();
});

function apiType(type: string, trigger: boolean): NodeTypeFromAPI {
  return {
    category: trigger ? 'Triggers' : 'Data',
    configSchema: { properties: {}, type: 'object' },
    description: type,
    docs: '',
    dynamicPorts: false,
    inputs: trigger ? [] : [{ name: 'in', title: 'Input' }],
    outputs: [{ name: 'out', title: 'Output' }],
    pure: false,
    title: type,
    trigger,
    type,
    version: 1,
  };
}

describe('EditorPage', () => {
  it('?execution= opens the editor with that run on the canvas (debug in editor)', async () => {
    const def = definitionFactory({
      edges: [{ source: 'start', target: 'set1' }],
      nodes: [nodeFactory('start', 'trigger.manual'), { id: 'set1', position: { x: 300, y: 0 }, type: 'data.set' }],
    });
    const wf = workflowFactory({ ...def, edges: def.edges ?? [], version: 2 });
    const exec = executionFactory({
      id: 'exec-0042',
      nodeRuns: [nodeRunFactory({ nodeId: 'start' }), nodeRunFactory({ nodeId: 'set1', output: { name: 'Ada' } })],
      workflowId: 'w1',
    });
    const calls = fakeApi([
      { body: exec, path: '/api/v1/executions/exec-0042' },
      { body: { items: [] }, path: '/api/v1/workflows/w1/pins' },
      { body: wf, path: '/api/v1/workflows/w1' },
      { body: { items: [apiType('trigger.manual', true), apiType('data.set', false)] }, path: '/api/v1/node-types' },
      { body: { valid: true }, method: 'POST', path: '/api/v1/workflows/validate' },
    ]);
    renderRoute(<EditorPage />, '/workflows/w1?execution=exec-0042', '/workflows/:id', { me: fakeMe('editor') });
    const bar = await screen.findByTestId('run-bar');
    await waitFor(() => expect(bar).toHaveTextContent('0042'));
    await waitFor(() => expect(document.querySelector('[data-testid=workflow-node][data-node-id="set1"]')).toHaveAttribute('data-status', 'succeeded'));
    expect(calls.some((c) => c.url === '/api/v1/executions/exec-0042')).toBe(true);
  });
});
