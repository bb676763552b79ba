import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { UserMenu } from './UserMenu';
import { WorkspaceSwitcher } from './WorkspaceSwitcher';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('UserMenu', () => {
  it('shows who is signed in with their role, and puts the server’s reasons on the password fields', async () => {
    const calls = fakeApi([
      {
        body: {
          detail: 'validation failed',
          errors: [{ location: '/currentPassword', message: 'the current password is wrong' }],
          status: 422,
          title: 'x',
          type: 'x',
        },
        method: 'PUT',
        path: '/api/v1/auth/password',
        status: 422,
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<UserMenu />, '/', '/', { me: fakeMe('editor') });
    await user.click(screen.getByRole('button', { name: /^User menu:/ }));
    const menu = screen.getByRole('menu');
    expect(menu).toHaveTextContent('ada@example.com');
    expect(menu).toHaveTextContent('editor in Acme');
    await user.click(within(menu).getByRole('menuitem', { name: 'Change password' }));
    const dialog = screen.getByRole('dialog', { name: 'Change password' });
    await user.type(within(dialog).getByLabelText('Current password'), 'not it at all');
    await user.type(within(dialog).getByLabelText('New password'), 'a brand new passphrase here');
    await user.type(within(dialog).getByLabelText('New password, again'), 'a brand new passphrase here');
    await user.click(within(dialog).getByRole('button', { name: 'Change password' }));
    await waitFor(() => expect(within(dialog).getByLabelText('Current password')).toHaveAccessibleDescription('the current password is wrong'));
    expect(calls[0]!.body).toEqual({ currentPassword: 'not it at all', newPassword: 'a brand new passphrase here' });
  });

  it('logs out: the server revokes, and the app goes to the login', async () => {
    const calls = fakeApi([{ body: null, method: 'POST', path: '/api/v1/auth/logout', status: 204 }]);
    const user = userEvent.setup();
    const { router } = renderRoute(<UserMenu />, '/workflows', '/workflows');
    await user.click(screen.getByRole('button', { name: /^User menu:/ }));
    await user.click(screen.getByRole('menuitem', { name: 'Log out' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/login'));
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(['POST /api/v1/auth/logout']);
  });
});

describe('WorkspaceSwitcher', () => {
  it('lists the workspaces with the role in each, and offers a new one', async () => {
    const user = userEvent.setup();
    renderRoute(<WorkspaceSwitcher />, '/', '/', {
      me: fakeMe('owner', {
        tenants: [
          { id: 't1', name: 'Acme', role: 'owner' },
          { id: 't2', name: 'Globex', role: 'viewer' },
        ],
      }),
    });
    await user.click(screen.getByRole('button', { name: 'Workspace: Acme' }));
    const items = screen.getAllByRole('menuitem');
    expect(items.map((i) => i.textContent)).toEqual(['Acmeowner', 'Globexviewer', 'New workspace']);
    expect(items[0]).toHaveAttribute('aria-current', 'true');
  });
});
