import { cleanup, render, screen } from '@testing-library/react';
import { ReactFlowProvider } from '@xyflow/react';
import { describe, expect, it } from 'vitest';

import { summarizeRuns } from '@services/executions';
import { catalogFactory, definitionFactory, nodeRunFactory } from '@test/factories';

import type { PinFromAPI } from '@services/pins';

import { EditorStoreContext, PinsContext, RunOverlayContext } from '../EditorContext';
import { mapProblems } from '../problems';
import { createEditorStore } from '../store';
import { WorkflowNodeCard } from './WorkflowNodeCard';

function renderCard(id: string, withRun = false, pins: ReadonlyMap<string, PinFromAPI> | null = null) {
  const store = createEditorStore({ catalog: catalogFactory(), definition: definitionFactory(), version: 1, workflowId: 'w' });
  store
    .getState()
    .setProblems(
      mapProblems(
        { errors: [{ location: '/nodes/1/config/condition', message: 'condition is required' }], status: 422, title: 'Unprocessable Entity', type: 'x' },
        ['start', 'check'],
        [],
      ),
    );
  const n = store.getState().nodes.find((x) => x.id === id)!;
  const overlay = withRun
    ? summarizeRuns('e1', [
        nodeRunFactory({ attempt: 1, nodeId: 'check', status: 'failed' }),
        nodeRunFactory({ attempt: 2, durationMs: 42, nodeId: 'check', port: 'true', status: 'succeeded' }),
      ])
    : null;
  render(
    <EditorStoreContext.Provider value={store}>
      <RunOverlayContext.Provider value={overlay}>
        <PinsContext.Provider value={pins}>
          <ReactFlowProvider>
            <WorkflowNodeCard
              data={n.data}
              deletable
              draggable
              dragging={false}
              id={n.id}
              isConnectable
              positionAbsoluteX={0}
              positionAbsoluteY={0}
              selectable
              selected={false}
              type="workflow"
              zIndex={0}
            />
          </ReactFlowProvider>
        </PinsContext.Provider>
      </RunOverlayContext.Provider>
    </EditorStoreContext.Provider>,
  );
}

describe('WorkflowNodeCard', () => {
  it('marks a pinned node with a named pin badge, and only that node', () => {
    const pins = new Map([['check', { bytes: 9, data: { a: 1 }, nodeId: 'check', port: 'false', updatedAt: '2026-12-01T00:00:00Z' }]]);
    renderCard('check', false, pins);
    const badge = screen.getByRole('img', { name: 'Pinned output' });
    expect(badge).toHaveAttribute('title', expect.stringContaining('port false'));
    expect(screen.getByTestId('workflow-node')).toHaveAttribute('aria-label', expect.stringContaining('output pinned'));
    cleanup();
    renderCard('start', false, pins);
    expect(screen.queryByRole('img', { name: 'Pinned output' })).not.toBeInTheDocument();
    expect(screen.getByTestId('workflow-node')).not.toHaveAttribute('data-pinned');
  });

  it('shows the title, id, type and one labelled handle per port', () => {
    renderCard('check');
    expect(screen.getByText('If')).toBeInTheDocument();
    expect(screen.getByLabelText('Input in')).toBeInTheDocument();
    expect(screen.getByLabelText('Output true')).toBeInTheDocument();
    expect(screen.getByLabelText('Output false')).toBeInTheDocument();
  });

  it('labels ports by name for every type, with the longer title as a hint', () => {
    renderCard('check');
    const labels = screen.getAllByTestId('port-label');
    expect(labels.map((l) => l.textContent)).toEqual(['in', 'true', 'false']);
    expect(labels[0]).toHaveAttribute('title', 'Input');
  });

  it('shows the validation problem on the node', () => {
    renderCard('check');
    expect(screen.getByTestId('node-problem')).toHaveTextContent('Condition: condition is required');
  });

  it('paints the run: status, attempt and duration of the latest attempt', () => {
    renderCard('check', true);
    const badge = screen.getByTestId('node-status');
    expect(badge).toHaveTextContent('succeeded');
    expect(badge).toHaveTextContent('#2');
    expect(badge).toHaveTextContent('42 ms');
    expect(screen.getByTestId('workflow-node')).toHaveAttribute('data-status', 'succeeded');
  });
});
