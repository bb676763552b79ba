import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import type { TriggerKind } from '@services/executions';

import { TriggerBadge } from './TriggerBadge';

describe('TriggerBadge', () => {
  it.each<[TriggerKind, RegExp]>([
    ['manual', /by hand/],
    ['webhook', /webhook trigger/],
    ['schedule', /schedule trigger/],
    ['retry', /retry of a failed/],
    ['call', /sub-workflow run/],
    ['error', /error workflow/],
    ['message', /listening trigger/],
  ])('names %s and explains it in its title', (kind, title) => {
    render(<TriggerBadge kind={kind} />);
    const badge = screen.getByTestId('trigger-badge');
    expect(badge).toHaveTextContent(kind);
    expect(badge).toHaveAttribute('data-trigger', kind);
    expect(badge.getAttribute('title')).toMatch(title);
  });

  it('draws a kind it does not know as manual', () => {
    render(<TriggerBadge kind={'future' as TriggerKind} />);
    expect(screen.getByTestId('trigger-badge')).toHaveTextContent('manual');
  });
});
