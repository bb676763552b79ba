import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { credentialFactory, credentialTypesFactory } from '@test/factories/credentials';
import { fakeApi, renderRoute } from '@test/render';

import { NewFromTemplateDialog } from './NewFromTemplateDialog';

afterEach(() => {
  vi.unstubAllGlobals();
});

const templates = [
  {
    credentialTypes: ['httpBearer', 'postgres'],
    description: 'Fetch orders over HTTP and upsert them into PostgreSQL.',
    id: 'orders-to-postgres',
    name: 'Orders → PostgreSQL',
    nodeTypes: ['trigger.manual', 'http.request', 'postgres.execute'],
    tags: ['http', 'postgres'],
  },
  { credentialTypes: [], description: 'Answer a webhook.', id: 'echo', name: 'Echo webhook', nodeTypes: ['trigger.webhook'], tags: ['webhook'] },
];

const nodeTypes = [
  {
    category: 'Triggers',
    description: '',
    dynamicPorts: false,
    icon: 'play',
    inputs: [],
    outputs: [],
    title: 'Manual trigger',
    trigger: true,
    type: 'trigger.manual',
    version: 1,
  },
  {
    category: 'HTTP',
    description: '',
    dynamicPorts: false,
    icon: 'globe',
    inputs: [],
    outputs: [],
    title: 'HTTP request',
    trigger: false,
    type: 'http.request',
    version: 1,
  },
];

function api(instantiate: { body: unknown; status?: number }) {
  return fakeApi([
    { body: { items: templates }, path: '/api/v1/templates' },
    { body: { items: nodeTypes }, path: '/api/v1/node-types' },
    { body: { items: credentialTypesFactory() }, path: '/api/v1/credential-types' },
    { body: { items: [credentialFactory({ id: 'tok', name: 'Shop token', type: 'httpBearer' })] }, path: '/api/v1/credentials?type=httpBearer' },
    { body: { items: [credentialFactory({ id: 'db', name: 'Warehouse', type: 'postgres' })] }, path: '/api/v1/credentials?type=postgres' },
    { ...instantiate, method: 'POST', path: '/api/v1/templates/orders-to-postgres/instantiate' },
  ]);
}

describe('NewFromTemplateDialog', { timeout: 15_000 }, () => {
  it('lists the templates, asks for one credential per type, instantiates and hands back the workflow', async () => {
    const wf = { id: 'w9', name: 'My orders' };
    const calls = api({ body: wf, status: 201 });
    const onCreated = vi.fn();
    const user = userEvent.setup();
    renderRoute(<NewFromTemplateDialog onClose={vi.fn()} onCreated={onCreated} />);
    const gallery = await screen.findByTestId('template-gallery');
    const card = await within(gallery).findByRole('button', { name: /Orders → PostgreSQL/ });
    expect(card).toHaveTextContent('Fetch orders over HTTP');
    expect(card).toHaveTextContent('postgres');
    expect(within(card).getByText('HTTP request')).toBeInTheDocument(); // a node type icon, named for screen readers
    const search = within(gallery).getByRole('searchbox', { name: 'Search templates' });
    fireEvent.change(search, { target: { value: 'webhook' } });
    expect(within(gallery).queryByRole('button', { name: /Orders/ })).toBeNull();
    fireEvent.change(search, { target: { value: '' } });
    await user.click(within(gallery).getByRole('button', { name: /Orders → PostgreSQL/ }));

    const setup = await screen.findByTestId('template-setup');
    const create = within(setup).getByRole('button', { name: 'Create workflow' });
    expect(create).toBeDisabled();
    fireEvent.change(within(setup).getByLabelText('Workflow name'), { target: { value: 'My orders' } });
    await user.selectOptions(
      await within(setup).findByLabelText('HTTP bearer token'),
      await within(setup).findByRole('option', { name: 'Shop token (HTTP bearer token)' }),
    );
    expect(create).toBeDisabled();
    await user.selectOptions(within(setup).getByLabelText('PostgreSQL'), await within(setup).findByRole('option', { name: 'Warehouse (PostgreSQL)' }));
    expect(create).toBeEnabled();
    await user.click(create);
    await waitFor(() => expect(onCreated).toHaveBeenCalledWith(wf));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ credentials: { httpBearer: 'tok', postgres: 'db' }, name: 'My orders' });
  });

  it("puts the server's 422 on the credential it names", async () => {
    const problem = {
      detail: 'validation failed',
      errors: [{ location: '/credentials/postgres', message: 'credential "db" is a mysql credential, not postgres' }],
      status: 422,
      title: 'Unprocessable Entity',
      type: 'about:blank',
    };
    api({ body: problem, status: 422 });
    const user = userEvent.setup();
    renderRoute(<NewFromTemplateDialog onClose={vi.fn()} onCreated={vi.fn()} />);
    await user.click(await screen.findByRole('button', { name: /Orders → PostgreSQL/ }));
    const setup = await screen.findByTestId('template-setup');
    await user.selectOptions(within(setup).getByLabelText('HTTP bearer token'), await within(setup).findByRole('option', { name: /Shop token/ }));
    await user.selectOptions(within(setup).getByLabelText('PostgreSQL'), await within(setup).findByRole('option', { name: /Warehouse/ }));
    await user.click(within(setup).getByRole('button', { name: 'Create workflow' }));
    const msg = await within(setup).findByText(/is a mysql credential/);
    expect(msg.closest('[data-credential-type]')).toHaveAttribute('data-credential-type', 'postgres');
    expect(within(setup).getByLabelText('PostgreSQL')).toHaveAttribute('aria-invalid', 'true');
  });

  it('needs no credential step when the template uses none', async () => {
    api({ body: {} });
    const user = userEvent.setup();
    renderRoute(<NewFromTemplateDialog onClose={vi.fn()} onCreated={vi.fn()} />);
    await user.click(await screen.findByRole('button', { name: /Echo webhook/ }));
    const setup = await screen.findByTestId('template-setup');
    expect(within(setup).getByText('This template needs no credentials.')).toBeInTheDocument();
    expect(within(setup).getByRole('button', { name: 'Create workflow' })).toBeEnabled();
    await user.click(within(setup).getByRole('button', { name: 'All templates' }));
    expect(await screen.findByTestId('template-gallery')).toBeInTheDocument();
  });
});
