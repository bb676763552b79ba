import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { PinFromAPI } from '@services/pins';
import { fakeApi, renderRoute } from '@test/render';

import { PinnedNotice } from './PinnedNotice';

afterEach(() => {
  vi.unstubAllGlobals();
});

const pin: PinFromAPI = { bytes: 2048, data: { total: 5 }, nodeId: 'check', port: 'false', updatedAt: '2026-12-01T00:00:00Z' };

describe('PinnedNotice', () => {
  it('says the output is pinned, opens the pin dialog on Edit pin, and unpins', async () => {
    const calls = fakeApi([{ body: null, method: 'DELETE', path: '/api/v1/workflows/w1/pins/check', status: 204 }]);
    const user = userEvent.setup();
    renderRoute(<PinnedNotice nodeId="check" nodeTitle="If" pin={pin} ports={['true', 'false']} workflowId="w1" />);
    const note = screen.getByRole('note');
    expect(note).toHaveTextContent('Output pinned (port false, 2.0 KiB): test runs use it instead of running this node');

    await user.click(within(note).getByRole('button', { name: 'Edit pin' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit pinned output of If' });
    expect(within(dialog).getByRole('combobox', { name: 'Output port' })).toHaveValue('false');
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();

    await user.click(within(note).getByRole('button', { name: 'Unpin' }));
    expect(await screen.findByText(/Output of check unpinned/)).toBeInTheDocument();
    await waitFor(() => expect(calls.map((c) => `${c.method} ${c.url}`)).toContain('DELETE /api/v1/workflows/w1/pins/check'));
  });

  it('offers a viewer no change', () => {
    fakeApi([]);
    renderRoute(<PinnedNotice nodeId="check" nodeTitle="If" pin={pin} ports={['true', 'false']} readOnly workflowId="w1" />);
    const note = screen.getByRole('note');
    expect(note).toHaveTextContent('Output pinned');
    expect(within(note).queryByRole('button')).toBeNull();
  });
});
