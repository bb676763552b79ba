import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { session } from '@services/session';
import { fakeApi, renderRoute } from '@test/render';

import { LoginPage } from './LoginPage';
import { SetupPage } from './SetupPage';

const PAIR = { accessToken: 'tok-1', expiresIn: 900, refreshToken: 'r1', tenantId: 't1', tokenType: 'Bearer' };

afterEach(() => {
  session.end('logout');
  vi.unstubAllGlobals();
});

describe('LoginPage', () => {
  it('says "Invalid e-mail or password" when the server refuses the login', async () => {
    const calls = fakeApi([
      {
        body: { detail: 'invalid e-mail or password', status: 401, title: 'Unauthorized', type: 'x' },
        method: 'POST',
        path: '/api/v1/auth/login',
        status: 401,
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<LoginPage />, '/login', '/login', { me: null });
    await user.type(screen.getByLabelText('E-mail'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'wrong password');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Invalid e-mail or password');
    expect(calls[0]!.body).toEqual({ email: 'ada@example.com', password: 'wrong password' });
    expect(session.currentToken()).toBeNull();
  });

  it('tells how long to wait when rate limited (Retry-After)', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response(JSON.stringify({ detail: 'too many requests', status: 429, title: 'Too Many Requests', type: 'x' }), {
            headers: { 'Retry-After': '42' },
            status: 429,
          }),
      ),
    );
    const user = userEvent.setup();
    renderRoute(<LoginPage />, '/login', '/login', { me: null });
    await user.type(screen.getByLabelText('E-mail'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'whatever it is');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many attempts, try again in 42 s');
  });

  it('signs in with the token in memory and returns to the page the user wanted', async () => {
    fakeApi([{ body: PAIR, method: 'POST', path: '/api/v1/auth/login' }]);
    const user = userEvent.setup();
    const { router } = renderRoute(<LoginPage />, '/login?next=%2Fexecutions%3Fstatus%3Dfailed', '/login', { me: null });
    await user.type(screen.getByLabelText('E-mail'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/executions'));
    expect(router.state.location.search).toBe('?status=failed');
    expect(session.currentToken()).toBe('tok-1');
    expect(localStorage.length).toBe(0);
  });

  it('never follows a next that leads off the app', async () => {
    fakeApi([{ body: PAIR, method: 'POST', path: '/api/v1/auth/login' }]);
    const user = userEvent.setup();
    const { router } = renderRoute(<LoginPage />, '/login?next=%2F%2Fevil.example%2F', '/login', { me: null });
    await user.type(screen.getByLabelText('E-mail'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/workflows'));
  });
});

describe('SetupPage', () => {
  it("shows the server's password strength message on the password field", async () => {
    const calls = fakeApi([
      {
        body: {
          detail: 'validation failed',
          errors: [{ location: 'body.password', message: 'too guessable: add another word or two', value: 'password12' }],
          status: 422,
          title: 'Unprocessable Entity',
          type: 'x',
        },
        method: 'POST',
        path: '/api/v1/auth/setup',
        status: 422,
      },
    ]);
    const user = userEvent.setup();
    renderRoute(<SetupPage />, '/setup', '/setup', { me: null });
    await user.type(screen.getByLabelText('Your name'), 'Ada');
    await user.type(screen.getByLabelText('E-mail'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'password12');
    await user.type(screen.getByLabelText('Workspace name'), 'Acme');
    await user.click(screen.getByRole('button', { name: 'Create the owner account' }));
    const field = screen.getByLabelText('Password');
    await waitFor(() => expect(field).toHaveAttribute('aria-invalid', 'true'));
    expect(field).toHaveAccessibleDescription('too guessable: add another word or two');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(calls[0]!.body).toEqual({ email: 'ada@example.com', name: 'Ada', password: 'password12', workspace: 'Acme' });
  });

  it('creates the owner, signs them in and opens the workflows', async () => {
    fakeApi([{ body: PAIR, method: 'POST', path: '/api/v1/auth/setup', status: 201 }]);
    const user = userEvent.setup();
    const { router } = renderRoute(<SetupPage />, '/setup', '/setup', { me: null });
    await user.type(screen.getByLabelText('E-mail'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery staple');
    await user.click(screen.getByRole('button', { name: 'Create the owner account' }));
    await waitFor(() => expect(router.state.location.pathname).toBe('/workflows'));
    expect(session.currentToken()).toBe('tok-1');
  });

  it('says when the server is already set up', async () => {
    fakeApi([{ body: { detail: 'already set up', status: 409, title: 'Conflict', type: 'x' }, method: 'POST', path: '/api/v1/auth/setup', status: 409 }]);
    const user = userEvent.setup();
    renderRoute(<SetupPage />, '/setup', '/setup', { me: null });
    await user.type(screen.getByLabelText('E-mail'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'correct horse battery staple');
    await user.click(screen.getByRole('button', { name: 'Create the owner account' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This server is already set up');
  });
});
