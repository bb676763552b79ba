import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { JsonViewer } from './JsonViewer';

describe('JsonViewer', () => {
  it('shows values by type and folds objects beyond the expand depth', async () => {
    const user = userEvent.setup();
    render(<JsonViewer expandDepth={1} label="Output" value={{ n: 1, nested: { deep: true }, s: 'x' }} />);
    const tree = screen.getByRole('tree', { name: 'Output' });
    expect(tree).toHaveTextContent('"s": "x"');
    expect(tree).toHaveTextContent('"n": 1');
    expect(tree).not.toHaveTextContent('"deep": true');
    expect(tree).toHaveTextContent('1 key');
    await user.click(screen.getByRole('button', { name: 'Expand nested' }));
    expect(tree).toHaveTextContent('"deep": true');
    await user.click(screen.getByRole('button', { name: 'Collapse nested' }));
    expect(tree).not.toHaveTextContent('"deep": true');
  });

  it('pages long arrays', async () => {
    const user = userEvent.setup();
    render(<JsonViewer label="Items" value={Array.from({ length: 150 }, (_, i) => i)} />);
    expect(screen.getByText('show 50 more of 50')).toBeInTheDocument();
    await user.click(screen.getByText('show 50 more of 50'));
    expect(screen.getByRole('tree', { name: 'Items' })).toHaveTextContent('149');
  });
});
