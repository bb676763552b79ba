import { render } from '@testing-library/react';
import { Box } from 'lucide-react';
import { describe, expect, it } from 'vitest';

import { ICONS, iconFor, NodeIcon } from './NodeIcon';

describe('NodeIcon', () => {
  it('maps every icon name it knows to a lucide component, by its kebab-case name', () => {
    for (const [name, icon] of Object.entries(ICONS)) {
      expect(name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(icon).toBeTruthy();
      expect(iconFor(name)).toBe(icon);
    }
  });

  it('draws a box for a name it does not know, or one that is not a name', () => {
    expect(iconFor('no-such-icon')).toBe(Box);
    expect(iconFor('toString')).toBe(Box);
    expect(iconFor('')).toBe(Box);
  });

  it('draws an svg on a tile coloured by category, with a neutral tile for an unknown category', () => {
    const { container, rerender } = render(<NodeIcon category="HTTP" icon="globe" />);
    const tile = container.querySelector('[data-icon="globe"]');
    expect(tile?.className).toContain('bg-emerald-100');
    expect(tile?.getAttribute('data-icon-known')).toBe('true');
    expect(tile?.querySelector('svg')).not.toBeNull();
    rerender(<NodeIcon category="Plugins" icon="unknown" size="sm" />);
    const unknown = container.querySelector('[data-icon="unknown"]');
    expect(unknown?.className).toContain('bg-zinc-100');
    expect(unknown?.getAttribute('data-icon-known')).toBe('false');
    expect(unknown?.querySelector('svg')).not.toBeNull();
  });
});
