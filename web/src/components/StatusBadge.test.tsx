import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { StatusBadge, type Status } from './StatusBadge';

const ALL: Status[] = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled', 'pending', 'skipped'];

describe('StatusBadge', () => {
  it.each(ALL)('shows %s with its name and an icon, spinning only while running', (status) => {
    const { container } = render(<StatusBadge status={status} />);
    const badge = screen.getByText(status);
    expect(badge).toHaveAttribute('data-status', status);
    const icon = container.querySelector('svg');
    expect(icon).not.toBeNull();
    expect(icon?.classList.contains('animate-spin')).toBe(status === 'running');
  });

  it('draws a different icon for each status', () => {
    const icons = ALL.map((status) => {
      const { container, unmount } = render(<StatusBadge status={status} />);
      const cls = container.querySelector('svg')?.getAttribute('class') ?? '';
      unmount();
      return cls.split(' ').find((c) => c.startsWith('lucide-') && c !== 'lucide-icon') ?? '';
    });
    expect(new Set(icons).size).toBe(ALL.length);
  });
});
