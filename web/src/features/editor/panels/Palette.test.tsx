import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { filterTypes, searchTypes, sortNodeTypes } from '@services/nodeTypes';
import { catalogFactory, nodeTypeFactory } from '@test/factories';

import { MENTIONS, Palette, paletteRows } from './Palette';

const types = sortNodeTypes([...catalogFactory().values()]);

describe('Palette', () => {
  it('groups types under category headers, triggers first', () => {
    const rows = paletteRows(types);
    expect(rows[0]).toEqual({ category: 'Triggers', kind: 'header' });
    expect(rows.filter((r) => r.kind === 'header').map((r) => (r.kind === 'header' ? r.category : ''))).toEqual(['Triggers', 'Flow', 'Data', 'HTTP']);
  });

  it('searches every word in name, title, category and description', () => {
    expect(filterTypes(types, 'http').map((t) => t.type)).toEqual(['http.request']);
    expect(filterTypes(types, 'flow sw').map((t) => t.type)).toEqual(['flow.switch']);
    expect(filterTypes(types, 'nothing-like-this')).toEqual([]);
  });

  it('lists the types a search names before those whose description only mentions it', () => {
    const named = types.find((t) => t.type === 'flow.switch')!;
    const mentioning = { ...types.find((t) => t.type === 'trigger.manual')!, description: 'Starts a run; no switch involved.' };
    const list = [mentioning, ...types.filter((t) => t !== named && t.type !== 'trigger.manual'), named];
    expect(filterTypes(list, 'switch').map((t) => t.type)).toEqual(['flow.switch', 'trigger.manual']);
    const { mentions, names } = searchTypes(list, 'switch');
    expect(paletteRows(names, mentions)).toEqual([
      { category: 'Flow', kind: 'header' },
      { kind: 'item', type: named },
      { category: MENTIONS, kind: 'header' },
      { kind: 'item', type: mentioning },
    ]);
  });

  it('shows each type with its title and description', () => {
    render(
      <div style={{ height: 600 }}>
        <Palette onAdd={vi.fn()} types={types} />
      </div>,
    );
    const item = screen.getAllByTestId('palette-item').find((b) => b.getAttribute('data-type') === 'trigger.manual')!;
    expect(item).toHaveTextContent('Manual trigger');
    expect(item).toHaveTextContent('The trigger.manual node');
    expect(item.getAttribute('title')).toContain('trigger.manual: The trigger.manual node');
  });

  it('puts plugin types under their own category, with a badge naming the plugin', async () => {
    const user = userEvent.setup();
    const plugin = { digest: 'sha256-aaaa', kind: 'wasm' as const, name: 'hello-wasm', version: '1.0.0' };
    const greet = nodeTypeFactory({ category: 'Plugins', plugin, title: 'Greet', type: 'hello.greet' });
    const all = sortNodeTypes([...types, greet]);
    expect(paletteRows(all).at(-2)).toEqual({ category: 'Plugins', kind: 'header' });
    render(
      <div style={{ height: 600 }}>
        <Palette onAdd={vi.fn()} types={all} />
      </div>,
    );
    // A search for the plugin's name finds its types.
    await user.type(screen.getByRole('searchbox', { name: 'Search node types' }), 'hello-wasm');
    const item = screen.getAllByTestId('palette-item').find((b) => b.getAttribute('data-type') === 'hello.greet')!;
    const badge = within(item).getByTestId('plugin-badge');
    expect(badge).toHaveTextContent('Plugin');
    expect(badge).toHaveAttribute('title', 'From plugin hello-wasm@1.0.0 (WebAssembly)');
    expect(item.getAttribute('title')).toContain('From plugin hello-wasm@1.0.0');
    // Built-in types carry no badge.
    await user.clear(screen.getByRole('searchbox', { name: 'Search node types' }));
    const builtIn = screen.getAllByTestId('palette-item').find((b) => b.getAttribute('data-type') === 'trigger.manual')!;
    expect(within(builtIn).queryByTestId('plugin-badge')).toBeNull();
  });

  it('says when no type matches the search', async () => {
    const user = userEvent.setup();
    const onAdd = vi.fn();
    render(
      <div style={{ height: 600 }}>
        <Palette onAdd={onAdd} types={types} />
      </div>,
    );
    await user.type(screen.getByRole('searchbox', { name: 'Search node types' }), 'zzz');
    expect(screen.getByText(/No node type matches/)).toBeInTheDocument();
  });
});
