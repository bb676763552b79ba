import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';

import type { JsonSchema } from '@services/nodeTypes';

import type { ErrorTree } from '../problems';
import ConfigForm from './ConfigForm';

const httpSchema: JsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  additionalProperties: false,
  properties: {
    body: { description: 'Any JSON value', title: 'Body' },
    headers: { additionalProperties: { type: 'string' }, title: 'Headers', type: 'object' },
    method: { default: 'GET', enum: ['GET', 'POST'], title: 'Method', type: 'string' },
    url: { minLength: 1, title: 'URL', type: 'string' },
  },
  required: ['url'],
  type: 'object',
};

const ifSchema: JsonSchema = {
  properties: { condition: { description: 'e.g. {{ input.total > 100 }}', title: 'Condition', 'x-cm-expression': true } },
  required: ['condition'],
  type: 'object',
};

/** Harness keeps the config in state, as the editor store does, and records every change. */
function Harness({ errors = {}, initial = {}, onChange, schema }: { errors?: ErrorTree; initial?: Record<string, unknown>; onChange: (c: Record<string, unknown>) => void; schema: JsonSchema }) {
  const [value, setValue] = useState(initial);
  return (
    <ConfigForm
      errors={errors}
      idPrefix="cfg"
      onChange={(c) => {
        setValue(c);
        onChange(c);
      }}
      schema={schema}
      value={value}
    />
  );
}

describe('ConfigForm', () => {
  it('generates fields from the schema and changes nothing until the user edits', () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} schema={httpSchema} />);
    expect(screen.getByLabelText(/URL/)).toBeInTheDocument();
    expect(screen.getByLabelText(/Method/)).toBeInTheDocument();
    expect(screen.getByRole('group', { name: /Headers/ })).toBeInTheDocument();
    expect(screen.getByLabelText(/Body/)).toBeInTheDocument();
    expect(onChange).not.toHaveBeenCalled();
  });

  it('shows the server errors on the fields their pointers name', () => {
    render(<Harness errors={{ url: { __errors: ['minLength: got 0, want 1'] } }} onChange={vi.fn()} schema={httpSchema} />);
    const field = screen.getByLabelText(/URL/).closest('[data-field]') as HTMLElement;
    expect(within(field).getByTestId('field-error')).toHaveTextContent('minLength: got 0, want 1');
  });

  it('marks a value holding {{ }} as an expression', async () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} schema={httpSchema} />);
    const url = screen.getByLabelText(/URL/);
    fireEvent.change(url, { target: { value: 'https://api.example.com/{{ input.id }}' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ url: 'https://api.example.com/{{ input.id }}' }));
    expect(screen.getByLabelText(/URL/)).toHaveAttribute('data-expression', 'true');
    expect(screen.getByRole('img', { name: 'Expression' })).toBeInTheDocument();
  });

  it('edits an x-cm-expression property as an expression field', async () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} schema={ifSchema} />);
    const cond = screen.getByLabelText(/Condition/);
    expect(screen.getByRole('img', { name: 'Takes an expression' })).toBeInTheDocument();
    fireEvent.change(cond, { target: { value: '{{ input.total > 100 }}' } });
    expect(onChange).toHaveBeenLastCalledWith({ condition: '{{ input.total > 100 }}' });
    expect(screen.getByRole('img', { name: 'Expression' })).toBeInTheDocument();
  });

  it('edits a map as name/value rows, keeping header values as text', async () => {
    const user = userEvent.setup();
    const onChange = vi.fn();
    render(<Harness initial={{ url: 'https://x' }} onChange={onChange} schema={httpSchema} />);
    await user.click(screen.getByRole('button', { name: 'Add header' }));
    await user.type(screen.getByLabelText('Headers name 1'), 'X-Count');
    fireEvent.change(screen.getByLabelText('Headers value 1'), { target: { value: '42' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ headers: { 'X-Count': '42' }, url: 'https://x' }));
  });

  it('reads an untyped value as JSON when it is JSON, and as text otherwise', () => {
    const onChange = vi.fn();
    render(<Harness initial={{ url: 'https://x' }} onChange={onChange} schema={httpSchema} />);
    const body = screen.getByLabelText(/Body/);
    fireEvent.change(body, { target: { value: '{"a": [1, 2]}' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ body: { a: [1, 2] } }));
    fireEvent.change(body, { target: { value: '{{ input.payload }}' } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ body: '{{ input.payload }}' }));
  });
});
