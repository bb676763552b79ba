import { render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { Toaster } from '@components/Toaster';
import { Editor } from '@features/editor/Editor';
import { ApiError } from '@services/http';
import type { WorkflowFromAPI } from '@services/workflows';
import { catalogFactory, definitionFactory } from '@test/factories';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { queryClient } from '../queryClient';
import { RootLayout } from './RootLayout';
import { MembersPage } from './settings/MembersPage';
import { SettingsLayout } from './settings/SettingsLayout';
import { WorkflowsPage } from './WorkflowsPage';

const summary = {
  active: false,
  createdAt: '2026-01-01T00:00:00Z',
  id: 'a',
  name: 'Orders',
  nodeCount: 3,
  tags: [],
  updatedAt: '2026-01-01T00:00:00Z',
  version: 4,
};
const workflow: WorkflowFromAPI = {
  ...definitionFactory(),
  active: false,
  edges: definitionFactory().edges ?? [],
  createdAt: '2026-01-01T00:00:00Z',
  id: 'w1',
  settings: {},
  tags: [],
  updatedAt: '2026-01-01T00:00:00Z',
  version: 3,
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('role-aware UI', () => {
  it('a viewer sees the workflows but nothing that would change them', async () => {
    fakeApi([
      { body: { items: [summary] }, path: '/api/v1/workflows' },
      { body: { items: [] }, path: '/api/v1/executions' },
    ]);
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows', { me: fakeMe('viewer') });
    expect(await screen.findByRole('link', { name: 'Orders' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Export Orders' })).toBeInTheDocument();
    for (const name of ['New workflow', 'Import', 'Rename Orders', 'Duplicate Orders', 'Delete Orders']) {
      expect(screen.queryByRole('button', { name })).toBeNull();
    }
  });

  it('an editor gets the buttons', async () => {
    fakeApi([
      { body: { items: [summary] }, path: '/api/v1/workflows' },
      { body: { items: [] }, path: '/api/v1/executions' },
    ]);
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows', { me: fakeMe('editor') });
    expect(await screen.findByRole('button', { name: 'Delete Orders' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'New workflow' })).toBeInTheDocument();
  });

  it('until the role is known, nothing that changes a workflow is offered', async () => {
    fakeApi([
      { body: { items: [] }, path: '/api/v1/workflows' },
      { body: { items: [] }, path: '/api/v1/executions' },
    ]);
    renderRoute(<WorkflowsPage />, '/workflows', '/workflows', { me: null });
    expect(await screen.findByText('No workflows yet')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Create your first workflow' })).toBeNull();
  });

  it('the editor opens read-only for a viewer: no run, save, palette or undo', async () => {
    fakeApi([
      { body: workflow, path: '/api/v1/workflows/w1' },
      { body: { items: [] }, path: '/api/v1/executions' },
    ]);
    const types = [...catalogFactory().values()];
    renderRoute(<Editor readOnly types={types} workflow={workflow} />, '/workflows/w1', '/workflows/:id', { me: fakeMe('viewer') });
    expect(await screen.findByTestId('read-only')).toHaveTextContent('Read-only');
    for (const name of ['Run', 'Save', 'Undo', 'Redo', 'Node palette', 'Auto-layout']) expect(screen.queryByRole('button', { name })).toBeNull();
    expect(screen.getByRole('textbox', { name: 'Workflow name' })).toHaveAttribute('readonly');
    expect(screen.getByRole('button', { name: 'Zoom to fit' })).toBeInTheDocument();
  });

  it('the editor is editable for an editor', async () => {
    fakeApi([
      { body: workflow, path: '/api/v1/workflows/w1' },
      { body: { items: [] }, path: '/api/v1/executions' },
      { body: { valid: true }, method: 'POST', path: '/api/v1/workflows/validate' },
    ]);
    const types = [...catalogFactory().values()];
    renderRoute(<Editor types={types} workflow={workflow} />, '/workflows/w1', '/workflows/:id', { me: fakeMe('editor') });
    expect(await screen.findByRole('button', { name: 'Run' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /Save/ })).toBeInTheDocument();
    expect(screen.queryByTestId('read-only')).toBeNull();
  });

  it('settings are in the navigation for admins only', async () => {
    fakeApi([{ body: { items: [] }, path: '/api/v1/workflows' }]);
    const viewer = renderRoute(<RootLayout />, '/', '/', { me: fakeMe('editor') });
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Workflows' })).toBeInTheDocument();
    expect(within(nav).queryByRole('link', { name: 'Settings' })).toBeNull();
    expect(screen.getByTestId('my-role')).toHaveTextContent('editor');
    viewer.unmount();
    renderRoute(<RootLayout />, '/', '/', { me: fakeMe('admin') });
    expect(await within(await screen.findByRole('navigation', { name: 'Main' })).findByRole('link', { name: 'Settings' })).toHaveAttribute('href', '/settings');
  });

  it('the settings pages tell a non-admin they are for admins', async () => {
    renderRoute(<SettingsLayout />, '/settings', '/settings', { me: fakeMe('editor') });
    expect(await screen.findByText('Settings are for admins')).toBeInTheDocument();
    expect(screen.queryByRole('navigation', { name: 'Settings' })).toBeNull();
  });

  it('members: nobody edits their own row, and only an owner offers the owner role', async () => {
    const members = {
      items: [
        { createdAt: '2026-01-01T00:00:00Z', disabled: false, email: 'ada@example.com', name: 'Ada', role: 'admin', userId: 'u1' },
        { createdAt: '2026-01-01T00:00:00Z', disabled: false, email: 'bob@example.com', name: 'Bob', role: 'viewer', userId: 'u2' },
        { createdAt: '2026-01-01T00:00:00Z', disabled: false, email: 'olga@example.com', name: 'Olga', role: 'owner', userId: 'u3' },
      ],
    };
    fakeApi([{ body: members, path: '/api/v1/members' }]);
    const asAdmin = renderRoute(<MembersPage />, '/settings/members', '/settings/members', { me: fakeMe('admin') });
    await screen.findByText('bob@example.com');
    expect(screen.queryByRole('combobox', { name: 'Role of Ada' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Remove Ada' })).toBeNull();
    const bob = screen.getByRole('combobox', { name: 'Role of Bob' });
    expect(within(bob).queryByRole('option', { name: 'owner' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Remove Bob' })).toBeInTheDocument();
    // An admin cannot change or remove an owner.
    expect(screen.queryByRole('combobox', { name: 'Role of Olga' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Remove Olga' })).toBeNull();
    asAdmin.unmount();

    renderRoute(<MembersPage />, '/settings/members', '/settings/members', { me: fakeMe('owner') });
    await screen.findByText('bob@example.com');
    expect(within(screen.getByRole('combobox', { name: 'Role of Bob' })).getByRole('option', { name: 'owner' })).toBeInTheDocument();
    expect(screen.getByRole('combobox', { name: 'Role of Olga' })).toBeInTheDocument();
  });

  it('a refusal for the role (403) is a toast that names the role', async () => {
    render(<Toaster />);
    const observer = queryClient.getMutationCache().build(queryClient, {
      mutationFn: () => Promise.reject(new ApiError(403, null, 'forbidden', { message: 'Your role (viewer) cannot do this' })),
    });
    await observer.execute(undefined).catch(() => undefined);
    await waitFor(() => expect(screen.getByRole('alert')).toHaveTextContent('Your role (viewer) cannot do this'));
  });
});
