import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { ApiKeyFromAPI } from '@services/identity';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { ApiKeysPage, expiryFromDate, keyStatus } from './ApiKeysPage';
import { AuditPage, toFilters } from './AuditPage';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const key: ApiKeyFromAPI = { createdAt: '2026-01-01T00:00:00Z', createdBy: 'user:u1', id: 'k1', name: 'CI deploys', role: 'editor' };

describe('ApiKeysPage', () => {
  it('shows a new key once, with a copy button and a warning, and never again', async () => {
    const calls = fakeApi([
      { body: { ...key, key: 'cm_ak_secretvalue' }, method: 'POST', path: '/api/v1/api-keys', status: 201 },
      { body: { items: [key] }, path: '/api/v1/api-keys' },
    ]);
    const user = userEvent.setup();
    // After setup, which installs a clipboard of its own.
    const writeText = vi.spyOn(navigator.clipboard, 'writeText');
    renderRoute(<ApiKeysPage />, '/settings/api-keys', '/settings/api-keys', { me: fakeMe('admin') });
    await screen.findByText('CI deploys');
    await user.click(screen.getByRole('button', { name: 'Create API key' }));
    const form = screen.getByRole('dialog', { name: 'Create API key' });
    // An admin cannot make a key stronger than admin.
    expect(within(form).queryByRole('option', { name: 'owner' })).toBeNull();
    await user.type(within(form).getByLabelText('Name'), 'CI deploys');
    await user.selectOptions(within(form).getByLabelText('Role'), 'viewer');
    await user.click(within(form).getByRole('button', { name: 'Create key' }));
    const shown = await screen.findByRole('dialog', { name: 'API key “CI deploys” created' });
    expect(within(shown).getByTestId('new-api-key')).toHaveTextContent('cm_ak_secretvalue');
    expect(within(shown).getByRole('note')).toHaveTextContent('only time it is shown');
    await user.click(within(shown).getByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('cm_ak_secretvalue');
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({ name: 'CI deploys', role: 'viewer' });
    await user.click(within(shown).getByRole('button', { name: 'I have saved the key' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(screen.queryByText('cm_ak_secretvalue')).toBeNull();
  });

  it('revokes a key only after confirming, and lists revoked keys on demand', async () => {
    const calls = fakeApi([
      { body: null, method: 'DELETE', path: '/api/v1/api-keys/k1', status: 204 },
      { body: { items: [key, { ...key, id: 'k0', name: 'Old', revokedAt: '2026-01-02T00:00:00Z' }] }, path: '/api/v1/api-keys?includeRevoked=true' },
      { body: { items: [key] }, path: '/api/v1/api-keys' },
    ]);
    const user = userEvent.setup();
    renderRoute(<ApiKeysPage />, '/settings/api-keys', '/settings/api-keys', { me: fakeMe('admin') });
    await user.click(await screen.findByRole('button', { name: 'Revoke CI deploys' }));
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);
    await user.click(within(screen.getByRole('dialog', { name: 'Revoke “CI deploys”?' })).getByRole('button', { name: 'Revoke' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.url)).toEqual(['/api/v1/api-keys/k1']));
    await user.click(screen.getByRole('checkbox', { name: 'Show revoked keys' }));
    expect(await screen.findByText('Old')).toBeInTheDocument();
    expect(screen.getAllByTestId('api-key-status').map((s) => s.textContent)).toEqual(['active', 'revoked']);
  });

  it('knows a key’s status and the end of an expiry day', () => {
    expect(keyStatus({ ...key, revokedAt: '2026-01-02T00:00:00Z' })).toBe('revoked');
    expect(keyStatus({ ...key, expiresAt: '2020-01-01T00:00:00Z' })).toBe('expired');
    expect(keyStatus({ ...key, expiresAt: '2999-01-01T00:00:00Z' })).toBe('active');
    expect(new Date(expiryFromDate('2030-06-15')!).getDate()).toBe(15);
    expect(expiryFromDate('')).toBeUndefined();
  });
});

describe('AuditPage', () => {
  const entry = {
    action: 'workflow.updated',
    actor: 'u1',
    details: { diff: { after: { name: 'B' }, before: { name: 'A' } } },
    id: 'a1',
    ip: '127.0.0.1',
    targetId: 'w1',
    targetType: 'workflow',
    time: '2026-01-01T10:00:00Z',
    userAgent: 'test',
  };

  it('filters, shows details and exports the same selection as JSON lines with the token', async () => {
    const calls = fakeApi([
      { body: { items: [entry] }, path: '/api/v1/audit?action=workflow.updated' },
      { body: { items: [entry, { ...entry, action: 'auth.login', id: 'a0', targetId: '', targetType: '' }] }, path: '/api/v1/audit' },
      {
        body: { items: [{ createdAt: '2026-01-01T00:00:00Z', disabled: false, email: 'ada@example.com', name: 'Ada', role: 'owner', userId: 'u1' }] },
        path: '/api/v1/members',
      },
    ]);
    const created = vi.fn((_b: Blob) => 'blob:x');
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: created, revokeObjectURL: vi.fn() }));
    const user = userEvent.setup();
    renderRoute(<AuditPage />, '/settings/audit', '/settings/audit', { me: fakeMe('admin') });
    expect(await screen.findAllByTestId('audit-row')).toHaveLength(2);
    expect(screen.getAllByText('ada@example.com')[0]).toBeInTheDocument();
    await user.selectOptions(screen.getByLabelText('Action'), 'workflow.updated');
    await waitFor(() => expect(screen.getAllByTestId('audit-row')).toHaveLength(1));
    await user.click(screen.getByRole('button', { name: /Details of workflow.updated/ }));
    expect(screen.getByRole('tree', { name: 'Details' })).toHaveTextContent('before');

    // The export goes through fetch with the same filters (a link could not send the token).
    const fetchMock = vi.fn(async () => new Response('{"id":"a1"}\n', { headers: { 'Content-Type': 'application/x-ndjson' }, status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    await user.click(screen.getByRole('button', { name: 'Export JSON lines' }));
    await waitFor(() => expect(created).toHaveBeenCalled());
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toBe('/api/v1/audit/export?action=workflow.updated');
    expect(await created.mock.calls[0]![0].text()).toBe('{"id":"a1"}\n');
    expect(calls.some((c) => c.url.startsWith('/api/v1/audit?action=workflow.updated'))).toBe(true);
  });

  it('turns the filter form into query parameters, leaving out the empty ones', () => {
    expect(toFilters({ action: '', actor: ' user:u1 ', since: '', targetId: '', targetType: 'workflow', until: '' })).toEqual({
      actor: 'user:u1',
      targetType: 'workflow',
    });
    const f = toFilters({ action: 'auth.login', actor: '', since: '2026-01-01T10:00', targetId: '', targetType: '', until: 'nonsense' });
    expect(f.action).toBe('auth.login');
    expect(new Date(f.since!).getTime()).toBe(new Date('2026-01-01T10:00').getTime());
    expect(f.until).toBeUndefined();
  });
});
