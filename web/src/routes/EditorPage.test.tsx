import { screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { catalogFactory, problemFactory, workflowFactory } from '@test/factories';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { EditorPage } from './EditorPage';

const workflow = workflowFactory({ name: 'Orders', version: 7 });
const types = { body: { items: [...catalogFactory().values()] }, path: '/api/v1/node-types' };

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('EditorPage', () => {
  it('opens the stored workflow once it and the node types are read', async () => {
    fakeApi([
      types,
      { body: workflow, path: '/api/v1/workflows/w1' },
      { body: { items: [] }, path: '/api/v1/executions' },
      { body: { valid: true }, method: 'POST', path: '/api/v1/workflows/validate' },
    ]);
    renderRoute(<EditorPage />, '/workflows/w1', '/workflows/:id');
    expect(screen.getByText('Opening the workflow…')).toBeInTheDocument();
    expect(await screen.findByRole('textbox', { name: 'Workflow name' })).toHaveValue('Orders');
    expect(screen.getByTestId('version')).toHaveTextContent('v7');
    expect(screen.getByRole('button', { name: 'Run' })).toBeInTheDocument();
  });

  it('opens a new draft for an editor, and read-only for a viewer', async () => {
    fakeApi([types, { body: { valid: true }, method: 'POST', path: '/api/v1/workflows/validate' }, { body: workflow, path: '/api/v1/workflows/w1' }]);
    const draft = renderRoute(<EditorPage />, '/workflows/new', '/workflows/:id', { me: fakeMe('editor') });
    expect(await screen.findByTestId('version')).toHaveTextContent('Draft');
    expect(screen.getByRole('textbox', { name: 'Workflow name' })).toHaveValue('Untitled workflow');
    draft.unmount();
    renderRoute(<EditorPage />, '/workflows/w1', '/workflows/:id', { me: fakeMe('viewer') });
    expect(await screen.findByTestId('read-only')).toBeInTheDocument();
  });

  it('tells a viewer that they cannot create a workflow', () => {
    fakeApi([types]);
    renderRoute(<EditorPage />, '/workflows/new', '/workflows/:id', { me: fakeMe('viewer') });
    expect(screen.getByText('You cannot create a workflow')).toBeInTheDocument();
    expect(screen.getByText('Your role lets you read workflows, not create them.')).toBeInTheDocument();
  });

  it("says why a workflow or the node types could not be read (the problem's detail)", async () => {
    fakeApi([types, { body: problemFactory(404, 'no workflow w2'), path: '/api/v1/workflows/w2', status: 404 }]);
    const missing = renderRoute(<EditorPage />, '/workflows/w2', '/workflows/:id');
    expect(await screen.findByText('This workflow could not be opened')).toBeInTheDocument();
    expect(screen.getByText(/no workflow w2/)).toBeInTheDocument();
    missing.unmount();
    vi.unstubAllGlobals();

    fakeApi([
      { body: problemFactory(503, 'plugins are reloading'), path: '/api/v1/node-types', status: 503 },
      { body: workflow, path: '/api/v1/workflows/w1' },
    ]);
    renderRoute(<EditorPage />, '/workflows/w1', '/workflows/:id');
    expect(await screen.findByText('Node types could not be loaded')).toBeInTheDocument();
    expect(screen.getByText(/plugins are reloading/)).toBeInTheDocument();
  });
});
