import type { WebSocketLike } from '@services/live';

/** FakeSocket is a WebSocket the test drives: open, say hello, send messages, close. */
export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  sent: Record<string, unknown>[] = [];
  closed = false;

  constructor(readonly url = '') {
    FakeSocket.all.push(this);
  }

  static last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1]!;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }

  close(): void {
    this.closed = true;
  }

  /** connect opens the socket and says hello, as the server does. */
  connect(): this {
    this.onopen?.({});
    this.receive({ heartbeatSeconds: 20, maxSubscriptions: 64, type: 'hello', version: 'test' });
    return this;
  }

  receive(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  /** drop ends the connection from the far side. */
  drop(code = 1006): void {
    this.closed = true;
    this.onclose?.({ code, reason: '' });
  }

  subscribes(): Record<string, unknown>[] {
    return this.sent.filter((m) => m.type === 'subscribe');
  }
}
