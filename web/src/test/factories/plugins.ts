import type { PluginFromAPI } from '@services/plugins';

/** activePluginFactory is a WebAssembly plugin in service, shaped like the server's hello-wasm example. */
export function activePluginFactory(overrides: Partial<PluginFromAPI> = {}): PluginFromAPI {
  return {
    author: 'ConcertMaster',
    description: 'Greets someone by name: the smallest WebAssembly plugin.',
    digest: 'sha256-aaaa',
    errors: [],
    folder: 'hello-wasm',
    kind: 'wasm',
    loadedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    name: 'hello-wasm',
    nodeTypes: ['hello.greet'],
    retired: [],
    runtime: { failures: 0, instances: 2, mode: 'reactor' },
    status: 'active',
    version: '1.0.0',
    ...overrides,
  };
}

/** refusedPluginFactory is a folder whose plugin.json was refused, with nothing from it in service. */
export function refusedPluginFactory(overrides: Partial<PluginFromAPI> = {}): PluginFromAPI {
  return {
    errors: [{ message: 'type must be one of object, array, string, number, integer, boolean, null', pointer: '/nodes/0/schema' }],
    folder: 'broken',
    name: 'broken',
    nodeTypes: [],
    refusedAt: new Date(Date.now() - 60_000).toISOString(),
    refusedVersion: '0.1.0',
    retired: [],
    runtime: { failures: 0, mode: '' },
    status: 'refused',
    ...overrides,
  };
}
