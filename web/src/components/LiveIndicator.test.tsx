import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';

import { LiveClientContext } from '@hooks/use-live';
import { LiveClient } from '@services/live';
import { FakeSocket as Socket } from '@test/fakeSocket';

import { LiveIndicator } from './LiveIndicator';

const clients: LiveClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.stop();
});

describe('LiveIndicator', () => {
  it('says the state in words, and offers to reconnect at once while waiting to', async () => {
    const client = new LiveClient({ EventSource: undefined, origin: 'http://x', random: () => 0.5, WebSocket: Socket });
    clients.push(client);
    render(
      <LiveClientContext.Provider value={client}>
        <LiveIndicator />
      </LiveClientContext.Provider>,
    );
    expect(screen.getByRole('status')).toHaveTextContent('Live updates: connecting');
    act(() => Socket.all[0]!.onmessage?.({ data: JSON.stringify({ type: 'hello' }) }));
    expect(screen.getByRole('status')).toHaveTextContent('Live updates: connected');
    expect(screen.getByTestId('live-indicator')).toHaveAttribute('data-live-state', 'live');

    act(() => Socket.all[0]!.onclose?.({ code: 1001, reason: 'server shutting down' }));
    expect(screen.getByRole('status')).toHaveTextContent('Live updates: connection lost, reconnecting');
    await userEvent.click(screen.getByRole('button', { name: /Reconnect now/ }));
    expect(Socket.all).toHaveLength(2);
    expect(screen.getByTestId('live-indicator')).toHaveAttribute('data-live-state', 'connecting');
  });
});
