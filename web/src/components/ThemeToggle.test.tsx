import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';

import { resolvedTheme, setTheme } from '@lib/theme';

import { ThemeToggle } from './ThemeToggle';

describe('ThemeToggle', () => {
  afterEach(() => setTheme('system'));

  it('cycles system → light → dark → system, storing the choice and setting the dark class', async () => {
    const user = userEvent.setup();
    setTheme('system');
    render(<ThemeToggle />);
    const button = screen.getByRole('button');
    expect(button).toHaveAccessibleName('System theme (switch to light theme)');

    await user.click(button);
    expect(button).toHaveAccessibleName('Light theme (switch to dark theme)');
    expect(localStorage.getItem('cm-theme')).toBe('light');
    expect(document.documentElement).not.toHaveClass('dark');

    await user.click(button);
    expect(button).toHaveAccessibleName('Dark theme (switch to system theme)');
    expect(localStorage.getItem('cm-theme')).toBe('dark');
    expect(document.documentElement).toHaveClass('dark');
    expect(resolvedTheme()).toBe('dark');

    await user.click(button);
    expect(localStorage.getItem('cm-theme')).toBeNull();
    // The test environment's system theme is light.
    expect(resolvedTheme()).toBe('light');
    expect(document.documentElement).not.toHaveClass('dark');
  });
});
