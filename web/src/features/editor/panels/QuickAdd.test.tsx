import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { nodeTypeFactory } from '@test/factories';

import { QuickAdd } from './QuickAdd';

const types = [
  nodeTypeFactory({ description: 'Sets fields', title: 'Set fields', type: 'data.set' }),
  nodeTypeFactory({ description: 'Calls an HTTP API', title: 'HTTP request', type: 'http.request' }),
  nodeTypeFactory({ description: 'Branches on a condition', title: 'If', type: 'flow.if' }),
];

function renderQuickAdd() {
  const onPick = vi.fn();
  const onClose = vi.fn();
  render(
    <div>
      <p>canvas</p>
      <QuickAdd at={{ x: 10, y: 10 }} onClose={onClose} onPick={onPick} types={types} />
    </div>,
  );
  return { onClose, onPick };
}

describe('QuickAdd', () => {
  it('moves with the arrows, within the list, and adds the active type with Enter', async () => {
    const user = userEvent.setup();
    const { onPick } = renderQuickAdd();
    const box = screen.getByRole('combobox', { name: 'Node type to add' });
    await user.click(box);
    expect(screen.getAllByRole('option')).toHaveLength(3);
    expect(box).toHaveAttribute('aria-activedescendant', 'qa-data.set');
    await user.keyboard('{ArrowUp}');
    expect(box).toHaveAttribute('aria-activedescendant', 'qa-data.set');
    await user.keyboard('{ArrowDown}{ArrowDown}{ArrowDown}');
    expect(box).toHaveAttribute('aria-activedescendant', 'qa-flow.if');
    await user.keyboard('{Enter}');
    expect(onPick).toHaveBeenCalledWith('flow.if');
  });

  it('filters as one types, going back to the first match, and says when nothing matches', async () => {
    const user = userEvent.setup();
    const { onPick } = renderQuickAdd();
    const box = screen.getByRole('combobox', { name: 'Node type to add' });
    await user.click(box);
    await user.keyboard('{ArrowDown}');
    await user.type(box, 'http');
    expect(screen.getAllByRole('option')).toHaveLength(1);
    expect(box).toHaveAttribute('aria-activedescendant', 'qa-http.request');
    await user.clear(box);
    await user.type(box, 'zzzz');
    expect(screen.queryAllByRole('option')).toHaveLength(0);
    expect(screen.getByText('Nothing matches.')).toBeInTheDocument();
    await user.keyboard('{Enter}');
    expect(onPick).not.toHaveBeenCalled();
  });

  it('adds a type on click, and closes on Escape or a click outside', async () => {
    const user = userEvent.setup();
    const { onClose, onPick } = renderQuickAdd();
    await user.click(screen.getByRole('option', { name: /HTTP request/ }));
    expect(onPick).toHaveBeenCalledWith('http.request');
    await user.click(screen.getByRole('combobox', { name: 'Node type to add' }));
    await user.keyboard('{Escape}');
    expect(onClose).toHaveBeenCalledTimes(1);
    await user.click(screen.getByText('canvas'));
    expect(onClose).toHaveBeenCalledTimes(2);
  });
});
