import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { MemberFromAPI } from '@services/identity';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { grantable, MembersPage } from './MembersPage';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const member = (userId: string, role: MemberFromAPI['role'], extra: Partial<MemberFromAPI> = {}): MemberFromAPI => ({
  createdAt: '2026-01-01T00:00:00Z',
  disabled: false,
  email: `${userId}@example.com`,
  name: userId.toUpperCase(),
  role,
  userId,
  ...extra,
});

describe('grantable', () => {
  it.each([
    ['owner', ['viewer', 'editor', 'admin', 'owner']],
    ['admin', ['viewer', 'editor', 'admin']],
    [undefined, ['viewer', 'editor', 'admin']],
  ] as const)('a %s may grant %j', (mine, want) => expect(grantable(mine)).toEqual(want));
});

describe('MembersPage', () => {
  it('locks my own row and, for an admin, the owners; changes a role only after confirming', async () => {
    const calls = fakeApi([
      { body: member('bob', 'viewer'), method: 'PATCH', path: '/api/v1/members/bob' },
      { body: { items: [member('u1', 'admin'), member('own', 'owner'), member('bob', 'editor', { disabled: true })] }, path: '/api/v1/members' },
    ]);
    const user = userEvent.setup();
    renderRoute(<MembersPage />, '/settings/members', '/settings/members', { me: fakeMe('admin') });
    const rows = await screen.findAllByTestId('member-row');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent('(you)');
    expect(within(rows[0]!).queryByRole('combobox')).toBeNull();
    expect(within(rows[1]!).queryByRole('combobox')).toBeNull();
    expect(within(rows[1]!).queryByRole('button')).toBeNull();
    expect(rows[2]).toHaveTextContent('disabled');

    const role = within(rows[2]!).getByRole('combobox', { name: 'Role of BOB' });
    expect(within(role).queryByRole('option', { name: 'owner' })).toBeNull();
    await user.selectOptions(role, 'viewer');
    const confirm = screen.getByRole('dialog', { name: 'Make BOB viewer?' });
    await user.click(within(confirm).getByRole('button', { name: 'Change role' }));
    await screen.findByText('BOB is now viewer');
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([{ body: { role: 'viewer' }, method: 'PATCH', url: '/api/v1/members/bob' }]);
  });

  it('removes a member after confirming, and not when canceled', async () => {
    const calls = fakeApi([
      { body: null, method: 'DELETE', path: '/api/v1/members/bob', status: 204 },
      { body: { items: [member('u1', 'owner'), member('bob', 'editor')] }, path: '/api/v1/members' },
    ]);
    const user = userEvent.setup();
    renderRoute(<MembersPage />, '/settings/members', '/settings/members');
    await user.click(await screen.findByRole('button', { name: 'Remove BOB' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Remove BOB?' })).getByRole('button', { name: 'Cancel' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    await user.click(screen.getByRole('button', { name: 'Remove BOB' }));
    await user.click(within(screen.getByRole('dialog', { name: 'Remove BOB?' })).getByRole('button', { name: 'Remove' }));
    await screen.findByText('Member removed');
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/members/bob']);
  });

  it('says to give a password when nobody has the e-mail', async () => {
    fakeApi([
      { body: { detail: 'no such user', status: 404, title: 'Not Found' }, method: 'POST', path: '/api/v1/members', status: 404 },
      { body: { items: [member('u1', 'owner')] }, path: '/api/v1/members' },
    ]);
    const user = userEvent.setup();
    renderRoute(<MembersPage />, '/settings/members', '/settings/members');
    await screen.findAllByTestId('member-row');
    await user.click(screen.getByRole('button', { name: 'Add member' }));
    const dialog = screen.getByRole('dialog', { name: 'Add member' });
    await user.type(within(dialog).getByLabelText('E-mail'), 'nobody@example.com');
    await user.click(within(dialog).getByRole('button', { name: 'Add member' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('No user has the e-mail nobody@example.com: give an initial password to create them.');
  });

  it('adds a member with the trimmed e-mail, the role, a name and a password', async () => {
    const calls = fakeApi([
      { body: member('new', 'viewer', { name: 'Newcomer' }), method: 'POST', path: '/api/v1/members', status: 201 },
      { body: { items: [member('u1', 'owner')] }, path: '/api/v1/members' },
    ]);
    const user = userEvent.setup();
    renderRoute(<MembersPage />, '/settings/members', '/settings/members');
    await screen.findAllByTestId('member-row');
    await user.click(screen.getByRole('button', { name: 'Add member' }));
    const dialog = screen.getByRole('dialog', { name: 'Add member' });
    const submit = within(dialog).getByRole('button', { name: 'Add member' });
    expect(submit).toBeDisabled();
    await user.type(within(dialog).getByLabelText('E-mail'), ' new@example.com ');
    await user.selectOptions(within(dialog).getByLabelText('Role'), 'viewer');
    await user.type(within(dialog).getByLabelText('Name (optional)'), 'Newcomer');
    await user.type(within(dialog).getByLabelText('Initial password (optional)'), 'a long enough passphrase');
    await user.click(submit);
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    await screen.findByText('Added Newcomer as viewer');
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({
      email: 'new@example.com',
      name: 'Newcomer',
      password: 'a long enough passphrase',
      role: 'viewer',
    });
  });

  it('shows the problem when the list fails', async () => {
    fakeApi([{ body: { detail: 'database is down', status: 503, title: 'Unavailable' }, path: '/api/v1/members', status: 503 }]);
    renderRoute(<MembersPage />, '/settings/members', '/settings/members');
    expect(await screen.findByText('Members could not be loaded')).toBeInTheDocument();
    expect(screen.getByText('database is down')).toBeInTheDocument();
  });
});
