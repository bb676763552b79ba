import { fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { PinFromAPI } from '@services/pins';
import { fakeApi, renderRoute } from '@test/render';

import { PinDialog } from './PinDialog';

afterEach(() => {
  vi.unstubAllGlobals();
});

const pin: PinFromAPI = { bytes: 9, data: { total: 5 }, nodeId: 'check', port: 'false', updatedAt: '2026-12-01T00:00:00Z' };

function pinAnswer(url: string, body: unknown): PinFromAPI {
  const b = body as { data: unknown; port?: string };
  return { bytes: JSON.stringify(b.data).length, data: b.data, nodeId: url.split('/').pop()!, port: b.port ?? 'out', updatedAt: '2026-12-01T00:00:00Z' };
}

/** typeJson replaces the text box's content (user-event would read { and [ as key descriptors). */
function typeJson(text: string) {
  fireEvent.change(screen.getByRole('textbox', { name: 'Pinned output (JSON)' }), { target: { value: text } });
}

describe('PinDialog', () => {
  it('starts from the run output, shows parse errors as you type and PUTs the parsed value', async () => {
    const calls = fakeApi([{ body: pinAnswer, method: 'PUT', path: '/api/v1/workflows/w1/pins/set1' }]);
    const onClose = vi.fn();
    const user = userEvent.setup();
    renderRoute(<PinDialog initialData={{ name: 'Ada' }} nodeId="set1" nodeTitle="Set fields" onClose={onClose} ports={['out']} workflowId="w1" />);
    expect(screen.getByRole('dialog', { name: 'Pin output of Set fields' })).toBeInTheDocument();
    const box = screen.getByRole('textbox', { name: 'Pinned output (JSON)' });
    expect(box).toHaveFocus();
    expect(JSON.parse((box as HTMLTextAreaElement).value)).toEqual({ name: 'Ada' });
    // One port: no select, the hint names it.
    expect(screen.queryByRole('combobox', { name: 'Output port' })).toBeNull();
    expect(screen.getByText(/leaves by port out/)).toBeInTheDocument();

    typeJson('{"name": ');
    expect(screen.getByTestId('pin-json-error')).toHaveTextContent('Not JSON');
    expect(box).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByRole('button', { name: 'Save pin' })).toBeDisabled();
    typeJson('');
    expect(screen.getByTestId('pin-json-error')).toHaveTextContent('Enter the JSON value to pin');

    typeJson('{"name": "Grace", "n": [1, 2]}');
    expect(screen.queryByTestId('pin-json-error')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Save pin' }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(calls).toEqual([{ body: { data: { n: [1, 2], name: 'Grace' } }, method: 'PUT', url: '/api/v1/workflows/w1/pins/set1' }]);
    expect(await screen.findByText(/Output of set1 pinned/)).toBeInTheDocument();
  });

  it('edits an existing pin on its port, and shows the server 422 at its field', async () => {
    const calls = fakeApi([
      {
        body: {
          errors: [{ location: '/body/port', message: 'port "nope" is not an output of check' }],
          status: 422,
          title: 'Unprocessable Entity',
          type: 'about:blank',
        },
        method: 'PUT',
        path: '/api/v1/workflows/w1/pins/check',
        status: 422,
      },
    ]);
    const onClose = vi.fn();
    const user = userEvent.setup();
    renderRoute(<PinDialog nodeId="check" nodeTitle="If" onClose={onClose} pin={pin} ports={['true', 'false']} workflowId="w1" />);
    expect(screen.getByRole('dialog', { name: 'Edit pinned output of If' })).toBeInTheDocument();
    const port = screen.getByRole('combobox', { name: 'Output port' });
    expect(port).toHaveValue('false');
    expect(JSON.parse((screen.getByRole('textbox', { name: 'Pinned output (JSON)' }) as HTMLTextAreaElement).value)).toEqual({ total: 5 });
    await user.selectOptions(port, 'true');
    await user.click(screen.getByRole('button', { name: 'Save pin' }));
    expect(await screen.findByText('port "nope" is not an output of check')).toBeInTheDocument();
    expect(port).toHaveAttribute('aria-invalid', 'true');
    expect(calls[0]!.body).toEqual({ data: { total: 5 }, port: 'true' });
    expect(onClose).not.toHaveBeenCalled();
  });

  it('shows a 422 on the node, or one without a field, at the top', async () => {
    fakeApi([
      {
        body: {
          errors: [{ location: '/path/nodeId', message: 'node "set9" is not in the current version: save the workflow first' }],
          status: 422,
          title: 'x',
          type: 'x',
        },
        method: 'PUT',
        path: '/api/v1/workflows/w1/pins/set9',
        status: 422,
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<PinDialog nodeId="set9" nodeTitle="Set" onClose={() => undefined} ports={['out']} workflowId="w1" />);
    await user.click(screen.getByRole('button', { name: 'Save pin' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('node "set9" is not in the current version: save the workflow first');
  });

  it('shows a data 422 under the JSON', async () => {
    fakeApi([
      {
        body: { errors: [{ location: '/body/data', message: 'the pinned data is 2 MiB: at most 1 MiB' }], status: 422, title: 'x', type: 'x' },
        method: 'PUT',
        path: '/api/v1/workflows/w1/pins/set1',
        status: 422,
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<PinDialog nodeId="set1" nodeTitle="Set" onClose={() => undefined} ports={['out']} workflowId="w1" />);
    await user.click(screen.getByRole('button', { name: 'Save pin' }));
    expect(await screen.findByText('the pinned data is 2 MiB: at most 1 MiB')).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'Pinned output (JSON)' })).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('a new pin from a run starts on the port the run left by', () => {
    fakeApi([]);
    renderRoute(
      <PinDialog
        initialData={{ total: 1 }}
        initialPort="false"
        nodeId="check"
        nodeTitle="If"
        onClose={() => undefined}
        ports={['true', 'false']}
        workflowId="w1"
      />,
    );
    expect(screen.getByRole('combobox', { name: 'Output port' })).toHaveValue('false');
  });

  it('refuses a value over 1 MiB before sending it', () => {
    const calls = fakeApi([]);
    renderRoute(<PinDialog nodeId="set1" nodeTitle="Set" onClose={() => undefined} ports={['out']} workflowId="w1" />);
    typeJson(JSON.stringify({ big: 'x'.repeat(1_100_000) }));
    expect(screen.getByText(/a pin holds at most 1.0 MiB/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Save pin' })).toBeDisabled();
    expect(calls).toHaveLength(0);
  });

  it('unpins with DELETE, and saves with Ctrl+Enter', async () => {
    const calls = fakeApi([
      { body: null, method: 'DELETE', path: '/api/v1/workflows/w1/pins/check', status: 204 },
      { body: pinAnswer, method: 'PUT', path: '/api/v1/workflows/w1/pins/check' },
    ]);
    const onClose = vi.fn();
    const user = userEvent.setup();
    const view = renderRoute(<PinDialog nodeId="check" nodeTitle="If" onClose={onClose} pin={pin} ports={['true', 'false']} workflowId="w1" />);
    await user.click(screen.getByRole('button', { name: 'Unpin' }));
    await waitFor(() => expect(onClose).toHaveBeenCalledTimes(1));
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(['DELETE /api/v1/workflows/w1/pins/check']);
    view.unmount();

    renderRoute(<PinDialog nodeId="check" nodeTitle="If" onClose={onClose} pin={pin} ports={['true', 'false']} workflowId="w1" />);
    screen.getByRole('textbox', { name: 'Pinned output (JSON)' }).focus();
    await user.keyboard('{Control>}{Enter}{/Control}');
    await waitFor(() => expect(onClose).toHaveBeenCalledTimes(2));
    expect(calls[1]).toMatchObject({ body: { data: { total: 5 }, port: 'false' }, method: 'PUT' });
  });
});
