import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';

import { LiveClientContext } from '@hooks/use-live';
import { LiveClient, type WebSocketLike } from '@services/live';

import { LiveIndicator } from './LiveIndicator';

class Socket implements WebSocketLike {
  static all: Socket[] = [];
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  constructor() {
    Socket.all.push(this);
  }
  close(): void {}
  send(): void {}
}

const clients: LiveClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.stop();
  Socket.all = [];
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
