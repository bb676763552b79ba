import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import ConfigForm from '@features/editor/panels/ConfigForm';
import type { CredentialFromAPI } from '@services/credentials';
import { credentialFactory, credentialTypesFactory } from '@test/factories/credentials';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { CredentialPicker } from './CredentialPicker';

afterEach(() => {
  vi.unstubAllGlobals();
});

const main = credentialFactory({ id: 'c1', name: 'Main DB', type: 'postgres' });
const legacy = credentialFactory({ id: 'c2', name: 'Legacy', type: 'mysql' });

/**
 * server fakes the credentials API with a list that grows when a credential is created, filtered by
 * the ?type= of the request as the server does.
 */
function server(initial: CredentialFromAPI[]) {
  const items = [...initial];
  const calls = fakeApi([
    { body: { items: credentialTypesFactory() }, path: '/api/v1/credential-types' },
    {
      body: (_: string, b: { name: string; type: string }) => {
        const c = credentialFactory({ id: `new-${items.length}`, name: b.name, type: b.type });
        items.push(c);
        return c;
      },
      method: 'POST',
      path: '/api/v1/credentials',
      status: 201,
    },
    {
      body: (url: string) => {
        const types = new URL(url, 'http://x').searchParams.getAll('type');
        return { items: items.filter((c) => types.length === 0 || types.includes(c.type)) };
      },
      path: '/api/v1/credentials',
    },
  ]);
  return calls;
}

function Harness({ initial, onChange, types }: { initial?: string; onChange: (v: string | undefined) => void; types: string[] }) {
  const [value, setValue] = useState(initial);
  return (
    <CredentialPicker
      label="Credential"
      onChange={(v) => {
        setValue(v);
        onChange(v);
      }}
      types={types}
      value={value}
    />
  );
}

describe('CredentialPicker', { timeout: 15_000 }, () => {
  it('lists the credentials of its types by name and type, and picks one', async () => {
    const calls = server([main, legacy]);
    const onChange = vi.fn();
    const user = userEvent.setup();
    renderRoute(<Harness onChange={onChange} types={['postgres']} />);
    const select = screen.getByRole('combobox', { name: 'Credential' });
    await screen.findByRole('option', { name: 'Main DB (PostgreSQL)' });
    expect(within(select).queryByRole('option', { name: /Legacy/ })).toBeNull();
    expect(calls.some((c) => c.url === '/api/v1/credentials?type=postgres')).toBe(true);
    await user.selectOptions(select, 'c1');
    expect(onChange).toHaveBeenLastCalledWith('c1');
    expect(select).toHaveValue('c1');
  });

  it('creates a credential of its type and selects it', async () => {
    const calls = server([main]);
    const onChange = vi.fn();
    const user = userEvent.setup();
    renderRoute(<Harness onChange={onChange} types={['httpBearer']} />);
    const select = screen.getByRole('combobox', { name: 'Credential' });
    await screen.findByRole('option', { name: 'No HTTP bearer token credential yet' });
    await user.selectOptions(select, 'Create new credential…');
    const dialog = await screen.findByRole('dialog', { name: 'New credential' });
    // One type fits: no choice, it is the type.
    expect(within(dialog).queryByLabelText('Type')).toBeNull();
    expect(within(dialog).getByTestId('credential-type')).toHaveTextContent('HTTP bearer token');
    await user.type(within(dialog).getByLabelText(/^Name/), 'Partner API');
    await user.type(within(dialog).getByLabelText(/^Token/), 'tok');
    await user.click(within(dialog).getByRole('button', { name: 'Create' }));
    await waitFor(() => expect(onChange).toHaveBeenLastCalledWith('new-1'));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ data: { token: 'tok' }, name: 'Partner API', type: 'httpBearer' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(await screen.findByRole('option', { name: 'Partner API (HTTP bearer token)' })).toBeInTheDocument();
    expect(select).toHaveValue('new-1');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('offers a choice of type when several fit', async () => {
    server([]);
    const user = userEvent.setup();
    renderRoute(<Harness onChange={vi.fn()} types={['postgres', 'mysql']} />);
    await screen.findByRole('option', { name: 'No PostgreSQL or MySQL / MariaDB credential yet' });
    await user.selectOptions(screen.getByRole('combobox', { name: 'Credential' }), 'Create new credential…');
    const dialog = await screen.findByRole('dialog', { name: 'New credential' });
    const type = within(dialog).getByLabelText('Type');
    expect(
      within(type)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['MySQL / MariaDB', 'PostgreSQL']);
  });

  it('warns when the saved credential no longer exists', async () => {
    server([main]);
    renderRoute(<Harness initial="gone" onChange={vi.fn()} types={['postgres']} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('This credential no longer exists');
    expect(screen.getByRole('combobox', { name: 'Credential' })).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByRole('option', { name: /Missing credential/ })).toBeInTheDocument();
  });

  it('offers no create to a viewer', async () => {
    server([main]);
    renderRoute(<Harness onChange={vi.fn()} types={['postgres']} />, '/', '/', { me: fakeMe('viewer') });
    await screen.findByRole('option', { name: 'Main DB (PostgreSQL)' });
    expect(screen.queryByRole('option', { name: 'Create new credential…' })).toBeNull();
  });
});

describe('ConfigForm with a credential property', { timeout: 15_000 }, () => {
  const schema = {
    properties: {
      credential: { description: 'The server', minLength: 1, title: 'Credential', type: 'string', 'x-credentialTypes': ['postgres'] },
      query: { title: 'Query', type: 'string' },
    },
    required: ['credential', 'query'],
    type: 'object',
  };

  it('renders the picker, never a text or expression input, and changes the config only when picked', async () => {
    server([main]);
    const onChange = vi.fn();
    const user = userEvent.setup();
    function Form() {
      const [value, setValue] = useState<Record<string, unknown>>({ query: 'select 1' });
      return (
        <ConfigForm
          errors={{}}
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
    renderRoute(<Form />);
    const field = await screen.findByLabelText(/^Credential/);
    expect(field.tagName).toBe('SELECT');
    expect(screen.getAllByTestId('credential-picker')).toHaveLength(1);
    expect(field.closest('[data-field]')?.querySelector('textarea, input')).toBeNull();
    await screen.findByRole('option', { name: 'Main DB (PostgreSQL)' });
    expect(onChange).not.toHaveBeenCalled();
    await user.selectOptions(field, 'c1');
    expect(onChange).toHaveBeenLastCalledWith({ credential: 'c1', query: 'select 1' });
  });
});
