import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';

import { RunDialog } from './RunDialog';

describe('RunDialog', () => {
  it.each([
    { blockers: [], dirty: true, label: 'Save and run', enabled: true },
    { blockers: [], dirty: false, label: 'Run', enabled: true },
    { blockers: ['check · Condition: condition is required'], dirty: true, label: 'Run', enabled: false },
  ])('offers "$label" (dirty $dirty, $blockers.length problems)', async ({ blockers, dirty, enabled, label }) => {
    const onRun = vi.fn();
    render(<RunDialog blockers={blockers} busy={false} dirty={dirty} initialInput="{}" onClose={vi.fn()} onRun={onRun} open triggers={['start']} />);
    const button = screen.getByRole('button', { name: label });
    expect(screen.queryByRole('button', { name: 'Save and run' }) !== null).toBe(label === 'Save and run');
    if (enabled) {
      expect(button).toBeEnabled();
      expect(screen.queryByTestId('run-blockers')).toBeNull();
    } else {
      expect(button).toBeDisabled();
      expect(screen.getByTestId('run-blockers')).toHaveTextContent('check · Condition: condition is required');
      expect(screen.getByText(/Fix this problem first/)).toBeInTheDocument();
      // Ctrl+Enter in the input does not run it either.
      await userEvent.setup().type(screen.getByLabelText('Input (JSON)'), '{Control>}{Enter}{/Control}');
      expect(onRun).not.toHaveBeenCalled();
    }
  });
});
