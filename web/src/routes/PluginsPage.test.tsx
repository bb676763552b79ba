import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { nodeTypeQueries } from '@services/nodeTypes';
import { nodeTypeFactory } from '@test/factories';
import { activePluginFactory, refusedPluginFactory } from '@test/factories/plugins';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { PLUGINS_DOCS, PluginsPage, reloadSummary } from './PluginsPage';

afterEach(() => {
  vi.unstubAllGlobals();
});

const hello = activePluginFactory();
const broken = refusedPluginFactory();

function card(folder: string): HTMLElement {
  return screen.getAllByTestId('plugin-card').find((c) => c.getAttribute('data-folder') === folder)!;
}

describe('PluginsPage', () => {
  it('shows an active plugin: version, kind, author, node types linked to their docs, runtime', async () => {
    fakeApi([{ body: { items: [hello] }, path: '/api/v1/plugins' }]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins');
    expect(await screen.findByRole('heading', { name: 'hello-wasm v1.0.0' })).toBeInTheDocument();
    const c = card('hello-wasm');
    expect(within(c).getByTestId('plugin-status')).toHaveTextContent('Active');
    expect(c).toHaveTextContent('WebAssembly · by ConcertMaster');
    expect(c).toHaveTextContent('Greets someone by name');
    expect(within(c).getByRole('link', { name: 'hello.greet' })).toHaveAttribute('href', '/node-types?q=hello.greet');
    expect(within(c).getByTestId('plugin-runtime')).toHaveTextContent('reactor module · 2 instances · 0 failures');
    expect(c).toHaveTextContent('5 minutes ago');
    expect(within(c).queryByTestId('plugin-refusal')).toBeNull();
  });

  it('shows why a plugin was refused, pointer and message, and that nothing serves', async () => {
    fakeApi([{ body: { items: [hello, broken] }, path: '/api/v1/plugins' }]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins');
    await screen.findByRole('heading', { name: 'broken' });
    const c = card('broken');
    expect(within(c).getByTestId('plugin-status')).toHaveTextContent('Refused');
    const refusal = within(c).getByTestId('plugin-refusal');
    expect(refusal).toHaveTextContent('Version 0.1.0 was refused');
    const why = within(refusal).getByRole('list', { name: 'Why broken was refused' });
    expect(
      within(why)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['/nodes/0/schema — type must be one of object, array, string, number, integer, boolean, null']);
    expect(within(c).getByTestId('plugin-serving')).toHaveTextContent('Nothing from this folder serves until it is fixed.');
    // Nothing serves: no runtime facts to show.
    expect(within(c).queryByTestId('plugin-runtime')).toBeNull();
  });

  it('says which version still serves when a new one is refused, and keeps showing the one in service', async () => {
    const replaced = activePluginFactory({
      errors: [{ message: 'the manifest is not JSON', pointer: '' }],
      refusedVersion: '1.1.0',
      retired: ['hello-wasm@0.9.0#sha256-old'],
      status: 'refused',
    });
    fakeApi([{ body: { items: [replaced] }, path: '/api/v1/plugins' }]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins');
    await screen.findByRole('heading', { name: 'hello-wasm v1.0.0' });
    const c = card('hello-wasm');
    expect(within(c).getByTestId('plugin-serving')).toHaveTextContent('Version 1.0.0 still serves.');
    expect(within(c).getByTestId('plugin-problem')).toHaveTextContent(/^the manifest is not JSON$/);
    expect(within(c).getByRole('link', { name: 'hello.greet' })).toBeInTheDocument();
    expect(c).toHaveTextContent('hello-wasm@0.9.0');
  });

  it('describes a process plugin by its process', async () => {
    const proc = activePluginFactory({
      folder: 'hello-python',
      kind: 'process',
      name: 'hello-python',
      runtime: { failures: 1, inFlight: 2, lastError: 'exited with status 1', mode: 'process', pid: 4242, restarts: 1, running: true },
    });
    fakeApi([{ body: { items: [proc] }, path: '/api/v1/plugins' }]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins');
    await screen.findByRole('heading', { name: 'hello-python v1.0.0' });
    const c = card('hello-python');
    expect(c).toHaveTextContent('Process · by ConcertMaster');
    expect(within(c).getByTestId('plugin-runtime')).toHaveTextContent('running as pid 4242 · 1 restart · 2 in flight · 1 failure');
    expect(within(c).getByTestId('plugin-last-error')).toHaveTextContent('Last error: exited with status 1');
  });

  it('explains CM_PLUGIN_DIR and links to the guide when there is no plugin', async () => {
    fakeApi([{ body: { items: [] }, path: '/api/v1/plugins' }]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins');
    expect(await screen.findByText('No plugins loaded')).toBeInTheDocument();
    expect(screen.getByText('CM_PLUGIN_DIR')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'How to write a plugin (docs/plugins.md)' })).toHaveAttribute('href', PLUGINS_DOCS);
  });

  it('offers Reload to admins only', async () => {
    for (const role of ['viewer', 'editor'] as const) {
      fakeApi([{ body: { items: [hello] }, path: '/api/v1/plugins' }]);
      const view = renderRoute(<PluginsPage />, '/plugins', '/plugins', { me: fakeMe(role) });
      await screen.findByRole('heading', { name: 'hello-wasm v1.0.0' });
      expect(screen.queryByRole('button', { name: 'Reload' }), role).toBeNull();
      view.unmount();
    }
    fakeApi([{ body: { items: [hello] }, path: '/api/v1/plugins' }]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins', { me: fakeMe('admin') });
    expect(await screen.findByRole('button', { name: 'Reload' })).toBeEnabled();
  });

  it('until the role is known, Reload is not offered', async () => {
    fakeApi([{ body: { items: [hello] }, path: '/api/v1/plugins' }]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins', { me: null });
    await screen.findByRole('heading', { name: 'hello-wasm v1.0.0' });
    expect(screen.queryByRole('button', { name: 'Reload' })).toBeNull();
  });

  it('reloads: the list becomes the answer and a toast says what it found', async () => {
    const user = userEvent.setup();
    const calls = fakeApi([
      { body: { items: [hello, broken] }, method: 'POST', path: '/api/v1/plugins/reload' },
      { body: { items: [hello] }, path: '/api/v1/plugins' },
    ]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins', { me: fakeMe('admin') });
    await user.click(await screen.findByRole('button', { name: 'Reload' }));
    expect(await screen.findByText('2 plugins: 1 active, 1 refused')).toBeInTheDocument();
    expect(screen.getAllByTestId('plugin-card').map((c) => c.getAttribute('data-folder'))).toEqual(['hello-wasm', 'broken']);
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual(['/api/v1/plugins/reload']);
  });

  it('a failed reload is an error toast', async () => {
    const user = userEvent.setup();
    fakeApi([
      {
        body: { detail: 'plugins are off in this process (CM_PLUGIN_DIR=off)', status: 503, title: 'Service Unavailable' },
        method: 'POST',
        path: '/api/v1/plugins/reload',
        status: 503,
      },
      { body: { items: [hello] }, path: '/api/v1/plugins' },
    ]);
    renderRoute(<PluginsPage />, '/plugins', '/plugins', { me: fakeMe('admin') });
    await user.click(await screen.findByRole('button', { name: 'Reload' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Plugins not reloaded');
    expect(alert).toHaveTextContent('plugins are off in this process');
  });

  it('reads the node type catalogue again when the plugins in service change', async () => {
    fakeApi([{ body: { items: [activePluginFactory({ digest: 'sha256-new', version: '1.1.0' })] }, path: '/api/v1/plugins' }]);
    const { client } = renderRoute(<PluginsPage />, '/plugins', '/plugins');
    const plugin = { digest: 'sha256-aaaa', kind: 'wasm' as const, name: 'hello-wasm', version: '1.0.0' };
    client.setQueryData(nodeTypeQueries.list().queryKey, [nodeTypeFactory({ plugin, type: 'hello.greet' })]);
    await screen.findByRole('heading', { name: 'hello-wasm v1.1.0' });
    await waitFor(() => expect(client.getQueryState(nodeTypeQueries.list().queryKey)?.isInvalidated).toBe(true));
  });

  it('leaves the catalogue alone when it matches', async () => {
    fakeApi([{ body: { items: [hello, broken] }, path: '/api/v1/plugins' }]);
    const { client } = renderRoute(<PluginsPage />, '/plugins', '/plugins');
    const plugin = { digest: 'sha256-aaaa', kind: 'wasm' as const, name: 'hello-wasm', version: '1.0.0' };
    client.setQueryData(nodeTypeQueries.list().queryKey, [nodeTypeFactory({ type: 'data.set' }), nodeTypeFactory({ plugin, type: 'hello.greet' })]);
    await screen.findByRole('heading', { name: 'hello-wasm v1.0.0' });
    expect(client.getQueryState(nodeTypeQueries.list().queryKey)?.isInvalidated).toBe(false);
  });
});

describe('reloadSummary', () => {
  it('counts active and refused plugins', () => {
    expect(reloadSummary([])).toBe('No plugins in the plugin folder');
    expect(reloadSummary([hello])).toBe('1 plugin, all active');
    expect(reloadSummary([hello, broken])).toBe('2 plugins: 1 active, 1 refused');
  });
});
