import { fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { JsonSchema } from '@services/nodeTypes';
import { fakeApi, renderRoute } from '@test/render';

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
function Harness({
  errors = {},
  initial = {},
  nodeType,
  onChange,
  schema,
}: {
  errors?: ErrorTree;
  initial?: Record<string, unknown>;
  nodeType?: string;
  onChange: (c: Record<string, unknown>) => void;
  schema: JsonSchema;
}) {
  const [value, setValue] = useState(initial);
  return (
    <ConfigForm
      errors={errors}
      idPrefix="cfg"
      nodeType={nodeType}
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

  it('edits a property that takes one of several shapes as JSON or text, with no option picker', () => {
    const onChange = vi.fn();
    const schema: JsonSchema = {
      properties: {
        key: {
          anyOf: [{ type: 'string' }, { items: { type: 'string' }, type: 'array' }],
          description: 'Dot path (or list of paths) identifying a record',
          title: 'Key',
        },
      },
      required: ['key'],
      type: 'object',
    };
    render(<Harness onChange={onChange} schema={schema} />);
    expect(screen.queryByRole('combobox')).toBeNull();
    expect(screen.getByText('Dot path (or list of paths) identifying a record. One of: text, a list of strings.')).toBeInTheDocument();
    const key = screen.getByLabelText(/Key/);
    fireEvent.change(key, { target: { value: 'id' } });
    expect(onChange).toHaveBeenLastCalledWith({ key: 'id' });
    fireEvent.change(key, { target: { value: '["customer.id", "sku"]' } });
    expect(onChange).toHaveBeenLastCalledWith({ key: ['customer.id', 'sku'] });
  });

  it('keeps a date-time property a text box that takes an expression', () => {
    const onChange = vi.fn();
    render(<Harness onChange={onChange} schema={{ properties: { until: { format: 'date-time', title: 'Until', type: 'string' } }, type: 'object' }} />);
    const until = screen.getByLabelText(/Until/);
    expect(until.tagName).toBe('TEXTAREA');
    fireEvent.change(until, { target: { value: '{{ input.sendAt }}' } });
    expect(onChange).toHaveBeenLastCalledWith({ until: '{{ input.sendAt }}' });
  });

  it('masks a write-only secret until asked to show it', async () => {
    const user = userEvent.setup();
    const onChange = vi.fn();
    render(<Harness onChange={onChange} schema={{ properties: { key: { title: 'HMAC key', type: 'string', writeOnly: true } }, type: 'object' }} />);
    const key = screen.getByLabelText(/HMAC key/);
    expect(key).toHaveAttribute('type', 'password');
    await user.type(key, 's3cret');
    expect(onChange).toHaveBeenLastCalledWith({ key: 's3cret' });
    await user.click(screen.getByRole('button', { name: 'Show the secret' }));
    expect(screen.getByLabelText(/HMAC key/)).toHaveAttribute('type', 'text');
  });
});

describe('ConfigForm of flow.call', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  const callSchema: JsonSchema = {
    properties: { wait: { default: true, title: 'Wait for the child', type: 'boolean' }, workflowId: { minLength: 1, title: 'Workflow', type: 'string' } },
    required: ['workflowId'],
    type: 'object',
  };

  it('picks the workflow to call by name', async () => {
    const calls = fakeApi([
      {
        body: {
          items: [
            {
              active: false,
              createdAt: '2026-01-01T00:00:00Z',
              id: 'wf-invoice',
              name: 'Invoice one order',
              nodeCount: 3,
              updatedAt: '2026-01-01T00:00:00Z',
              version: 2,
            },
            { active: false, createdAt: '2026-01-01T00:00:00Z', id: 'wf-refund', name: 'Refund', nodeCount: 3, updatedAt: '2026-01-01T00:00:00Z', version: 1 },
          ],
        },
        path: '/api/v1/workflows',
      },
    ]);
    const user = userEvent.setup();
    const onChange = vi.fn();
    renderRoute(<Harness nodeType="flow.call" onChange={onChange} schema={callSchema} />);
    const select = await screen.findByRole('combobox', { name: /Workflow/ });
    await screen.findByRole('option', { name: 'Invoice one order' });
    await user.selectOptions(select, 'wf-invoice');
    expect(onChange).toHaveBeenLastCalledWith({ workflowId: 'wf-invoice' });
    await user.type(screen.getByRole('searchbox', { name: 'Search workflow' }), 'inv');
    await vi.waitFor(() => expect(calls.map((c) => c.url)).toContain('/api/v1/workflows?limit=50&name=inv'));
  });

  it('shows schema defaults the config lacks, and writes them only when changed (data.set "Keep input")', async () => {
    const schema: JsonSchema = {
      properties: {
        cases: { items: { properties: { port: { title: 'Port', type: 'string' } }, type: 'object' }, title: 'Cases', type: 'array' },
        keepInput: { default: true, title: 'Keep input', type: 'boolean' },
        mode: { default: 'merge', enum: ['merge', 'replace'], title: 'Mode', type: 'string' },
        off: { default: false, title: 'Off by default', type: 'boolean' },
        timeout: { default: 30, title: 'Timeout', type: 'integer' },
      },
      type: 'object',
    };
    const onChange = vi.fn();
    render(<Harness initial={{ cases: [{ port: 'a' }, { port: 'b' }] }} onChange={onChange} schema={schema} />);
    expect(screen.getByRole('checkbox', { name: /Keep input/ })).toBeChecked();
    expect(screen.getByRole('checkbox', { name: /Off by default/ })).not.toBeChecked();
    expect(screen.getByRole('combobox', { name: /Mode/ })).toHaveDisplayValue('merge');
    expect(screen.getByLabelText(/Timeout/)).toHaveAttribute('placeholder', '30 (default)');
    // List items are titled after the list, numbered from 1.
    expect(screen.getByText('Case 1')).toBeInTheDocument();
    expect(screen.getByText('Case 2')).toBeInTheDocument();
    expect(screen.queryByText(/Cases-1/)).toBeNull();
    expect(onChange).not.toHaveBeenCalled();
    await userEvent.setup().click(screen.getByRole('checkbox', { name: /Keep input/ }));
    expect(onChange).toHaveBeenLastCalledWith({ cases: [{ port: 'a' }, { port: 'b' }], keepInput: false });
  });
});
