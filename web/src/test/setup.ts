import '@testing-library/jest-dom/vitest';

import { cleanup, configure } from '@testing-library/react';
import { afterEach, beforeEach } from 'vitest';

import { expressionEditorSettings } from '@components/ExpressionInput';
import { dismissAllToasts } from '@lib/toast';
import { session } from '@services/session';
import { FakeSocket } from '@test/fakeSocket';

afterEach(() => {
  cleanup();
});

// The test files share one module graph (isolate: false in vite.config.ts, which runs the suite
// about five times faster): every case starts from no toasts, no fake sockets and no session.
beforeEach(() => {
  dismissAllToasts();
  FakeSocket.all = [];
  session.end('logout');
});

// findBy* and waitFor wait up to 5 s, not 1 s: a loaded 2-core CI machine renders a lazy form or a
// fetched list slower than that, and a passing wait still returns as soon as its element appears.
configure({ asyncUtilTimeout: 5000 });

// jsdom lacks these browser APIs that React Flow and the app touch.
class ResizeObserverStub {
  disconnect(): void {}
  observe(): void {}
  unobserve(): void {}
}
globalThis.ResizeObserver ??= ResizeObserverStub as unknown as typeof ResizeObserver;
if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      addEventListener: () => {},
      addListener: () => {},
      dispatchEvent: () => false,
      matches: false,
      media: query,
      onchange: null,
      removeEventListener: () => {},
      removeListener: () => {},
    }) as MediaQueryList;
}
if (typeof HTMLDialogElement !== 'undefined' && !HTMLDialogElement.prototype.showModal) {
  HTMLDialogElement.prototype.showModal = function showModal(this: HTMLDialogElement) {
    this.setAttribute('open', '');
  };
  HTMLDialogElement.prototype.close = function close(this: HTMLDialogElement) {
    this.removeAttribute('open');
    this.dispatchEvent(new Event('close'));
  };
}

// Components under test must not reach for a server: the live client's socket never opens unless a
// test hands in its own client (LiveClientContext) with a fake socket.
class InertWebSocket {
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  close(): void {}
  send(): void {}
}
globalThis.WebSocket = InertWebSocket as unknown as typeof WebSocket;

// Components under test are signed out unless a test signs a session in: no refresh call is made
// behind the fakes' back (services/session.ts).
session.end('logout');

// Forms are tested through their text boxes; ExpressionInput.test.tsx turns the CodeMirror editor on.
expressionEditorSettings.codeEditor = false;
