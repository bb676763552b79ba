import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { STORED } from '@services/credentials';
import { credentialFactory, credentialTypesFactory } from '@test/factories/credentials';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { CredentialsPage } from './CredentialsPage';

afterEach(() => {
  vi.unstubAllGlobals();
});

const token = credentialFactory({ data: { token: STORED }, id: 'c1', name: 'Partner API', type: 'httpBearer' });
const db = credentialFactory({ data: { host: 'db', password: STORED, user: 'app' }, id: 'c2', name: 'Warehouse', type: 'postgres' });

function api(extra: Parameters<typeof fakeApi>[0] = [], items = [token, db]) {
  return fakeApi([
    ...extra,
    { body: { items: credentialTypesFactory() }, path: '/api/v1/credential-types' },
    { body: (url: string) => ({ items: items.filter((c) => !url.includes('type=') || url.includes(`type=${c.type}`)) }), path: '/api/v1/credentials' },
  ]);
}

describe('CredentialsPage', { timeout: 15_000 }, () => {
  it('lists credentials with their type, filters by type, and never shows a secret', async () => {
    const calls = api();
    const user = userEvent.setup();
    renderRoute(<CredentialsPage />, '/credentials', '/credentials');
    const rows = await screen.findAllByTestId('credential-row');
    expect(rows.map((r) => within(r).getAllByRole('cell')[1]!.textContent)).toEqual(['HTTP bearer token', 'PostgreSQL']);
    expect(document.body.innerHTML).not.toContain(STORED);
    await user.selectOptions(screen.getByLabelText('Type'), 'postgres');
    await waitFor(() => expect(screen.getAllByTestId('credential-row')).toHaveLength(1));
    expect(calls.some((c) => c.url === '/api/v1/credentials?type=postgres')).toBe(true);
  });

  it('explains what credentials are for when there is none', async () => {
    api([], []);
    renderRoute(<CredentialsPage />, '/credentials', '/credentials');
    expect(await screen.findByText('No credentials yet')).toBeInTheDocument();
    expect(screen.getByText(/workflows never contain the secret/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Create your first credential' })).toBeInTheDocument();
  });

  it('tests a credential and shows the message, green when it works and red when not', async () => {
    let ok = true;
    api([
      {
        body: () => (ok ? { message: 'Connected to PostgreSQL 15.19 as app', ok } : { message: 'password authentication failed', ok }),
        method: 'POST',
        path: '/api/v1/credentials/c2/test',
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<CredentialsPage />, '/credentials', '/credentials');
    await user.click(await screen.findByRole('button', { name: 'Test Warehouse' }));
    const result = await screen.findByText('Connected to PostgreSQL 15.19 as app');
    expect(result.closest('[data-testid=credential-test-result]')).toHaveAttribute('data-ok', 'true');
    ok = false;
    await user.click(screen.getByRole('button', { name: 'Test Warehouse' }));
    const failed = await screen.findByText('password authentication failed');
    expect(failed.closest('[data-testid=credential-test-result]')).toHaveAttribute('data-ok', 'false');
  });

  it('lists the workflows that use a credential when the server refuses to delete it', async () => {
    const problem = {
      detail: 'the credential is used by 1 workflow: Orders',
      errors: [{ location: 'workflows/w1', message: 'used by workflow "Orders"', value: 'w1' }],
      status: 409,
      title: 'Conflict',
      type: 'about:blank',
    };
    const calls = api([{ body: problem, method: 'DELETE', path: '/api/v1/credentials/c1', status: 409 }]);
    const user = userEvent.setup();
    renderRoute(<CredentialsPage />, '/credentials', '/credentials');
    await user.click(await screen.findByRole('button', { name: 'Delete Partner API' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete “Partner API”?' });
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));
    const inUse = await within(dialog).findByTestId('credential-in-use');
    expect(within(inUse).getByRole('link', { name: 'Orders' })).toHaveAttribute('href', '/workflows/w1');
    expect(within(dialog).queryByRole('button', { name: 'Delete' })).toBeNull();
  });

  it('is read-only for a viewer', async () => {
    api();
    const user = userEvent.setup();
    renderRoute(<CredentialsPage />, '/credentials', '/credentials', { me: fakeMe('viewer') });
    await screen.findAllByTestId('credential-row');
    for (const name of ['New credential', 'Test Warehouse', 'Edit Warehouse', 'Delete Warehouse']) expect(screen.queryByRole('button', { name })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'View Warehouse' }));
    const dialog = await screen.findByRole('dialog', { name: 'Warehouse' });
    expect(await within(dialog).findByLabelText('Host')).toBeDisabled();
    expect(within(dialog).queryByRole('button', { name: 'Save' })).toBeNull();
  });
});
