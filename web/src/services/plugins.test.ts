import { describe, expect, it } from 'vitest';

import { nodeTypeFactory } from '@test/factories';
import { activePluginFactory, refusedPluginFactory } from '@test/factories/plugins';

import { catalogOutOfDate } from './plugins';

const ref = (name: string, digest: string) => ({ digest, kind: 'wasm' as const, name, version: '1.0.0' });

describe('catalogOutOfDate', () => {
  const builtIn = nodeTypeFactory({ type: 'data.set' });
  const greet = nodeTypeFactory({ plugin: ref('hello-wasm', 'd1'), type: 'hello.greet' });
  const xml = [nodeTypeFactory({ plugin: ref('xml', 'd2'), type: 'xml.parse' }), nodeTypeFactory({ plugin: ref('xml', 'd2'), type: 'xml.build' })];
  const hello = activePluginFactory({ digest: 'd1' });
  const xmlPlugin = activePluginFactory({ digest: 'd2', folder: 'xml', name: 'xml', nodeTypes: ['xml.build', 'xml.parse'] });

  it.each([
    { name: 'NoPlugins', plugins: [], types: [builtIn], want: false },
    { name: 'Same', plugins: [hello, xmlPlugin], types: [builtIn, greet, ...xml], want: false },
    { name: 'RefusedWithNothingServing', plugins: [hello, refusedPluginFactory()], types: [builtIn, greet], want: false },
    { name: 'RefusedWhileEarlierServes', plugins: [activePluginFactory({ digest: 'd1', status: 'refused' })], types: [greet], want: false },
    { name: 'Added', plugins: [hello, xmlPlugin], types: [builtIn, greet], want: true },
    { name: 'Removed', plugins: [hello], types: [builtIn, greet, ...xml], want: true },
    { name: 'Replaced', plugins: [activePluginFactory({ digest: 'd3' })], types: [greet], want: true },
    { name: 'CatalogWithoutPlugins', plugins: [hello], types: [builtIn], want: true },
  ])('$name', ({ plugins, types, want }) => {
    expect(catalogOutOfDate(types, plugins)).toBe(want);
  });
});
