import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { Menu, MenuItem } from './Menu';

function renderMenu(onPick = vi.fn()) {
  render(
    <div>
      <p>outside</p>
      <Menu label="Actions">
        {(close) => (
          <>
            <MenuItem
              onSelect={() => {
                onPick('rename');
                close();
              }}
            >
              Rename
            </MenuItem>
            <MenuItem disabled onSelect={() => onPick('archive')}>
              Archive
            </MenuItem>
            <MenuItem onSelect={() => onPick('delete')} selected>
              Delete
            </MenuItem>
          </>
        )}
      </Menu>
    </div>,
  );
  return onPick;
}

describe('Menu', () => {
  it('opens with focus on the first item, moves with the arrows over enabled items, wrapping', async () => {
    const user = userEvent.setup();
    renderMenu();
    const button = screen.getByRole('button', { name: 'Actions' });
    expect(button).toHaveAttribute('aria-expanded', 'false');
    await user.click(button);
    expect(button).toHaveAttribute('aria-expanded', 'true');
    expect(screen.getByRole('menu')).toHaveAttribute('id', button.getAttribute('aria-controls'));
    expect(screen.getByRole('menuitem', { name: 'Rename' })).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(screen.getByRole('menuitem', { name: 'Delete' })).toHaveFocus();
    expect(screen.getByRole('menuitem', { name: 'Delete' })).toHaveAttribute('aria-current', 'true');
    await user.keyboard('{ArrowDown}');
    expect(screen.getByRole('menuitem', { name: 'Rename' })).toHaveFocus();
    await user.keyboard('{ArrowUp}');
    expect(screen.getByRole('menuitem', { name: 'Delete' })).toHaveFocus();
  });

  it('closes on Escape and gives focus back to its button', async () => {
    const user = userEvent.setup();
    renderMenu();
    await user.click(screen.getByRole('button', { name: 'Actions' }));
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).toBeNull();
    expect(screen.getByRole('button', { name: 'Actions' })).toHaveFocus();
  });

  it('closes on a click outside', async () => {
    const user = userEvent.setup();
    renderMenu();
    await user.click(screen.getByRole('button', { name: 'Actions' }));
    await user.click(screen.getByText('outside'));
    expect(screen.queryByRole('menu')).toBeNull();
  });

  it('runs an item and closes when the item says so', async () => {
    const user = userEvent.setup();
    const onPick = renderMenu();
    await user.click(screen.getByRole('button', { name: 'Actions' }));
    await user.click(screen.getByRole('menuitem', { name: 'Rename' }));
    expect(onPick).toHaveBeenCalledWith('rename');
    expect(screen.queryByRole('menu')).toBeNull();
    expect(screen.getByRole('button', { name: 'Actions' })).toHaveFocus();
  });
});
