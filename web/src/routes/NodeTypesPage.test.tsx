import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { fakeApi, renderRoute } from '@test/render';

import { NodeTypesPage } from './NodeTypesPage';

const apiType = (type: string, category: string, title: string, description: string, docs = '') => ({
  category,
  configSchema: { additionalProperties: false, properties: {}, type: 'object' },
  description,
  docs,
  dynamicPorts: false,
  icon: 'globe',
  inputs: category === 'Triggers' ? [] : [{ name: 'in', title: 'Input' }],
  outputs: [{ description: 'The result', name: 'out', title: 'Output' }],
  title,
  trigger: category === 'Triggers',
  type,
  version: 1,
});

const items = [
  apiType(
    'http.request',
    'HTTP',
    'HTTP request',
    'Sends an HTTP request.',
    '## Errors\n\n| code | when |\n|---|---|\n| `timeout` | too slow |\n\n<script>alert(1)</script>',
  ),
  apiType('data.set', 'Data', 'Set fields', 'Adds fields to the input object.', '## Configuration\n\n`fields` maps names to values.'),
  apiType('trigger.manual', 'Triggers', 'Manual trigger', 'Starts the workflow by hand.'),
  apiType('flow.if', 'Flow', 'If', 'Routes on a condition.', '## Output\n\nThe input, on `true` or `false`.'),
];

afterEach(() => {
  vi.unstubAllGlobals();
});

function categories() {
  return screen.getAllByTestId('node-type-category').map((s) => within(s).getByRole('heading', { level: 2 }).textContent);
}

function cardTypes() {
  return screen.queryAllByTestId('node-type-card').map((c) => c.getAttribute('data-type'));
}

describe('NodeTypesPage', () => {
  it('groups the types by category, triggers first', async () => {
    fakeApi([{ body: { items }, path: '/api/v1/node-types' }]);
    renderRoute(<NodeTypesPage />, '/node-types', '/node-types');
    expect(await screen.findByRole('heading', { name: 'Set fields' })).toBeInTheDocument();
    expect(categories()).toEqual(['Triggers (1)', 'Flow (1)', 'Data (1)', 'HTTP (1)']);
    expect(cardTypes()).toEqual(['trigger.manual', 'flow.if', 'data.set', 'http.request']);
  });

  it('filters by type, title and description, every word', async () => {
    const user = userEvent.setup();
    fakeApi([{ body: { items }, path: '/api/v1/node-types' }]);
    renderRoute(<NodeTypesPage />, '/node-types', '/node-types');
    const search = await screen.findByRole('searchbox', { name: 'Filter node types' });
    await user.type(search, 'http.req');
    expect(cardTypes()).toEqual(['http.request']);
    await user.clear(search);
    await user.type(search, 'set fields');
    expect(cardTypes()).toEqual(['data.set']);
    await user.clear(search);
    await user.type(search, 'by HAND');
    expect(cardTypes()).toEqual(['trigger.manual']);
    await user.clear(search);
    await user.type(search, 'nothing like this');
    expect(cardTypes()).toEqual([]);
    expect(screen.getByText('No node type matches “nothing like this”')).toBeInTheDocument();
  });

  it('renders a type’s docs as sanitized Markdown when opened', async () => {
    const user = userEvent.setup();
    fakeApi([{ body: { items }, path: '/api/v1/node-types' }]);
    renderRoute(<NodeTypesPage />, '/node-types', '/node-types');
    const card = (await screen.findAllByTestId('node-type-card')).find((c) => c.getAttribute('data-type') === 'http.request')!;
    expect(within(card).queryByRole('document')).toBeNull();
    await user.click(within(card).getByText('Documentation'));
    const docs = within(card).getByRole('document', { name: 'http.request documentation' });
    expect(within(docs).getByRole('heading', { level: 2, name: 'Errors' })).toBeInTheDocument();
    expect(within(docs).getByRole('cell', { name: 'timeout' })).toBeInTheDocument();
    expect(docs.querySelector('script')).toBeNull();
    const manual = screen.getAllByTestId('node-type-card').find((c) => c.getAttribute('data-type') === 'trigger.manual')!;
    expect(within(manual).getByText('No documentation yet.')).toBeInTheDocument();
  });

  it('opens on the type ?q= names, docs open, with a badge when a plugin adds it', async () => {
    const plugin = { digest: 'sha256-aaaa', kind: 'wasm', name: 'hello-wasm', version: '1.0.0' };
    const greet = { ...apiType('hello.greet', 'Plugins', 'Greet', 'Turns a name into a greeting.', '## Example\n\n`{"name": "Ada"}` greets Ada.'), plugin };
    fakeApi([{ body: { items: [...items, greet] }, path: '/api/v1/node-types' }]);
    renderRoute(<NodeTypesPage />, '/node-types?q=hello.greet', '/node-types');
    const docs = await screen.findByRole('document', { name: 'hello.greet documentation' });
    expect(within(docs).getByRole('heading', { level: 2, name: 'Example' })).toBeInTheDocument();
    expect(cardTypes()).toEqual(['hello.greet']);
    expect(screen.getByRole('heading', { level: 2, name: 'Plugins (1)' })).toBeInTheDocument();
    expect(screen.getByRole('searchbox', { name: 'Filter node types' })).toHaveValue('hello.greet');
    expect(screen.getByTestId('plugin-badge')).toHaveAttribute('title', 'From plugin hello-wasm@1.0.0 (WebAssembly)');
  });
});
