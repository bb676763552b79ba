import { act, fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { useStore } from 'zustand';

import { catalogFactory, definitionFactory, problemFactory } from '@test/factories';

import { EditorStoreContext } from '../EditorContext';
import { definitionFromGraph } from '../graphModel';
import { mapProblems } from '../problems';
import { createEditorStore, type EditorStore } from '../store';
import { NodeSettings } from './NodeSettings';

/** Panel shows node id's settings as the editor does: from the store, so that each edit is seen. */
function Panel({ id, readOnly, store }: { id: string; readOnly?: boolean; store: EditorStore }) {
  const data = useStore(store, (s) => s.nodes.find((n) => n.id === id)?.data);
  return data ? <NodeSettings node={{ data, id }} readOnly={readOnly} /> : <p>gone</p>;
}

function renderSettings(id = 'check', readOnly = false) {
  const store = createEditorStore({ catalog: catalogFactory(), definition: definitionFactory(), version: 1, workflowId: 'w' });
  const user = userEvent.setup();
  render(
    <EditorStoreContext.Provider value={store}>
      <Panel id={id} readOnly={readOnly} store={store} />
    </EditorStoreContext.Provider>,
  );
  const sent = () => definitionFromGraph(store.getState()).nodes?.find((n) => n.id === id);
  return { sent, store, user };
}

describe('NodeSettings', () => {
  it('writes the name, error handling, timeout and fan-out into the node', async () => {
    const { sent, user } = renderSettings();
    await user.type(screen.getByLabelText('Display name'), 'Big order?');
    expect(screen.getByLabelText('On error')).toHaveValue('fail');
    expect(screen.getByText('A failure fails the whole execution.')).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('On error'), 'errorPort');
    expect(screen.getByText(/sent out of an extra “error” port/)).toBeInTheDocument();
    await user.type(screen.getByLabelText('Timeout'), '30s');
    fireEvent.change(screen.getByLabelText('For each'), { target: { value: '{{ input.items }}' } });
    await user.type(screen.getByLabelText('Concurrency'), '4');
    expect(sent()).toMatchObject({ concurrency: 4, forEach: '{{ input.items }}', name: 'Big order?', onError: 'errorPort', timeout: '30s' });
    // Back to the default: the field leaves the definition.
    await user.selectOptions(screen.getByLabelText('On error'), 'fail');
    expect(sent()!.onError).toBeUndefined();
  });

  it('keeps only the retry fields that are set, numbers as numbers', async () => {
    const { sent, user } = renderSettings();
    await user.type(screen.getByLabelText('Max attempts'), '3');
    await user.type(screen.getByLabelText('First delay'), '2s');
    await user.type(screen.getByLabelText('Multiplier'), '1.5');
    await user.type(screen.getByLabelText('Longest delay'), '1m');
    await user.type(screen.getByLabelText('Jitter (0–1)'), '0.2');
    expect(sent()!.retry).toEqual({ initialInterval: '2s', jitter: 0.2, maxAttempts: 3, maxInterval: '1m', multiplier: 1.5 });
    await user.clear(screen.getByLabelText('Max attempts'));
    await user.clear(screen.getByLabelText('First delay'));
    expect(sent()!.retry).toEqual({ jitter: 0.2, maxInterval: '1m', multiplier: 1.5 });
    for (const label of ['Multiplier', 'Longest delay', 'Jitter (0–1)']) await user.clear(screen.getByLabelText(label));
    expect(sent()!.retry).toBeUndefined();
  });

  it('renames the node on Enter or on leaving the field, and says why an id is refused', async () => {
    const { store, user } = renderSettings('a');
    const id = screen.getByLabelText('Node id');
    await user.clear(id);
    await user.type(id, 'b{Enter}');
    expect(screen.getByText('Another node is already called b.')).toBeInTheDocument();
    await user.clear(id);
    await user.type(id, 'Not valid');
    await user.tab();
    expect(screen.getByText(/An id starts with a lowercase letter/)).toBeInTheDocument();
    expect(store.getState().nodes.map((n) => n.id)).toContain('a');
    await user.clear(screen.getByLabelText('Node id'));
    await user.type(screen.getByLabelText('Node id'), 'big{Enter}');
    expect(store.getState().nodes.map((n) => n.id)).toEqual(['start', 'check', 'big', 'b']);
    // The edge from check follows the rename.
    expect(store.getState().edges.some((e) => e.source === 'check' && e.target === 'big')).toBe(true);
  });

  it("shows the server's problems under their fields, and is disabled read-only", () => {
    const { store } = renderSettings('check', true);
    const s = store.getState();
    act(() =>
      s.setProblems(
        mapProblems(
          problemFactory(422, 'invalid', [
            { location: '/nodes/1/timeout', message: 'not a duration' },
            { location: '/nodes/1/retry/maxAttempts', message: 'must be at least 1' },
          ]),
          s.nodes.map((n) => n.id),
          s.edges.map((e) => e.id),
        ),
      ),
    );
    const errors = screen.getAllByTestId('field-error').map((e) => e.textContent);
    expect(errors).toEqual(['not a duration', 'must be at least 1']);
    expect(screen.getByLabelText('Timeout')).toBeDisabled();
    expect(screen.getByLabelText('Node id')).toBeDisabled();
  });
});
