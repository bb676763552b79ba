import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { STORED } from '@services/credentials';
import { credentialFactory, credentialTypesFactory } from '@test/factories/credentials';
import { fakeApi, renderRoute } from '@test/render';

import { CredentialDialog } from './CredentialDialog';

const bearer = credentialFactory({ data: { token: STORED }, id: 'c1', name: 'API token', type: 'httpBearer' });
const pg = credentialFactory({ data: { host: 'db', password: STORED, port: 5432, user: 'app' }, id: 'c2', name: 'Main DB', type: 'postgres' });

afterEach(() => {
  vi.unstubAllGlobals();
});

function api(extra: Parameters<typeof fakeApi>[0] = []) {
  return fakeApi([
    ...extra,
    { body: { items: credentialTypesFactory() }, path: '/api/v1/credential-types' },
    { body: { items: [bearer, pg] }, path: '/api/v1/credentials' },
  ]);
}

const patches = (calls: ReturnType<typeof fakeApi>) => calls.filter((c) => c.method === 'PATCH');

describe('CredentialDialog', { timeout: 15_000 }, () => {
  it('never shows a stored secret: the input is blank, a password input, and says it is stored', async () => {
    api();
    renderRoute(<CredentialDialog credential={bearer} onClose={vi.fn()} />);
    const token = await screen.findByLabelText(/^Token/);
    expect(token).toHaveAttribute('type', 'password');
    expect(token).toHaveValue('');
    expect(token).toHaveAttribute('placeholder', 'Stored — leave blank to keep');
    expect(document.body.innerHTML).not.toContain(STORED);
  });

  it('keeps a secret left blank: the update sends no data, only the new name', async () => {
    const calls = api([
      { body: (_: string, b: { name?: string }) => ({ ...bearer, name: b.name ?? bearer.name }), method: 'PATCH', path: '/api/v1/credentials/c1' },
    ]);
    const onSaved = vi.fn();
    const user = userEvent.setup();
    renderRoute(<CredentialDialog credential={bearer} onClose={vi.fn()} onSaved={onSaved} />);
    const name = await screen.findByLabelText(/^Name/);
    await user.clear(name);
    await user.type(name, 'Renamed token');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(onSaved).toHaveBeenCalled());
    expect(patches(calls).map((c) => c.body)).toEqual([{ name: 'Renamed token' }]);
  });

  it('sends a typed secret, and null for a cleared one (Undo keeps it again)', async () => {
    const calls = api([{ body: pg, method: 'PATCH', path: '/api/v1/credentials/c2' }]);
    const user = userEvent.setup();
    const view = renderRoute(<CredentialDialog credential={pg} onClose={vi.fn()} />);
    const password = await screen.findByLabelText('Password');
    await user.click(screen.getByRole('button', { name: 'Clear the stored password' }));
    expect(password).toBeDisabled();
    expect(password).toHaveAttribute('placeholder', 'Cleared when you save');
    await user.click(screen.getByRole('button', { name: 'Keep the stored password' }));
    expect(password).toBeEnabled();
    await user.click(screen.getByRole('button', { name: 'Clear the stored password' }));
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(patches(calls)).toHaveLength(1));
    expect(patches(calls)[0]!.body).toEqual({ data: { password: null } });
    view.unmount();

    renderRoute(<CredentialDialog credential={pg} onClose={vi.fn()} />);
    await user.type(await screen.findByLabelText('Password'), 'n3w-secret');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(patches(calls)).toHaveLength(2));
    expect(patches(calls)[1]!.body).toEqual({ data: { password: 'n3w-secret' } });
  });

  it('creates a credential of the chosen type with only the fields set', async () => {
    const created = credentialFactory({ id: 'c9', name: 'Reporting', type: 'postgres' });
    const calls = api([{ body: created, method: 'POST', path: '/api/v1/credentials', status: 201 }]);
    const onSaved = vi.fn();
    const user = userEvent.setup();
    renderRoute(<CredentialDialog onClose={vi.fn()} onSaved={onSaved} />);
    await user.selectOptions(await screen.findByLabelText('Type'), 'postgres');
    await user.type(screen.getByLabelText(/^Name/), 'Reporting');
    await user.type(screen.getByLabelText('Host'), 'db.internal');
    await user.type(screen.getByLabelText('User'), 'report');
    const password = screen.getByLabelText('Password');
    expect(password).toHaveAttribute('type', 'password');
    await user.type(password, 'pw');
    await user.click(screen.getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onSaved).toHaveBeenCalledWith(created));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      data: { host: 'db.internal', password: 'pw', port: 5432, sslmode: 'prefer', tls: false, user: 'report' },
      name: 'Reporting',
      type: 'postgres',
    });
  });

  it("shows the server's 422 errors on their fields", async () => {
    const problem = {
      detail: 'validation failed',
      errors: [{ location: 'body.data.port', message: 'must be between 1 and 65535' }],
      status: 422,
      title: 'Unprocessable Entity',
      type: 'about:blank',
    };
    api([{ body: problem, method: 'PATCH', path: '/api/v1/credentials/c2', status: 422 }]);
    const user = userEvent.setup();
    renderRoute(<CredentialDialog credential={pg} onClose={vi.fn()} />);
    const port = await screen.findByLabelText('Port');
    await user.clear(port);
    await user.type(port, '70000');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    const field = (await screen.findByText('must be between 1 and 65535')).closest('[data-field]') as HTMLElement;
    expect(field).toHaveAttribute('data-field', 'port');
    expect(port).toHaveAttribute('aria-invalid', 'true');
  });

  it('is read-only for a viewer: no save, inputs disabled, no clear', async () => {
    api();
    renderRoute(<CredentialDialog credential={pg} onClose={vi.fn()} readOnly />);
    const dialog = await screen.findByRole('dialog', { name: 'Main DB' });
    await within(dialog).findByLabelText('Host');
    expect(within(dialog).queryByRole('button', { name: 'Save' })).toBeNull();
    expect(within(dialog).queryByRole('button', { name: /Clear/ })).toBeNull();
    for (const input of within(dialog).getAllByRole('textbox')) expect(input).toBeDisabled();
  });
});
