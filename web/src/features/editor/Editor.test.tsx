import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { LiveClientContext } from '@hooks/use-live';
import { LiveClient } from '@services/live';
import { newWorkflowDraft } from '@services/workflows';
import { catalogFactory, executionFactory, nodeFactory, nodeRunFactory, problemFactory, workflowFactory } from '@test/factories';
import { FakeSocket } from '@test/fakeSocket';
import { fakeApi, fakeMe, renderRoute, type FakeRoute } from '@test/render';

import { PALETTE_MIME } from './Canvas';
import { Editor } from './Editor';

const types = [...catalogFactory().values()];

/** routes answers what every open editor reads: the workflow, the executions list, validation. */
function routes(extra: FakeRoute[] = [], workflow = workflowFactory()): FakeRoute[] {
  return [
    ...extra,
    { body: workflow, path: '/api/v1/workflows/w1' },
    { body: { items: [] }, path: '/api/v1/executions' },
    { body: { valid: true }, method: 'POST', path: '/api/v1/workflows/validate' },
  ];
}

function openEditor(workflow = workflowFactory(), options: { readOnly?: boolean } = {}) {
  const user = userEvent.setup();
  const view = renderRoute(<Editor readOnly={options.readOnly} types={types} workflow={workflow} />, `/workflows/${workflow.id}`, '/workflows/:id', {
    me: fakeMe(options.readOnly ? 'viewer' : 'editor'),
  });
  return { user, ...view };
}

/** openReady opens w1 with the usual fakes and waits until its header is drawn. */
async function openReady() {
  fakeApi(routes());
  const view = openEditor();
  await screen.findByTestId('version');
  return view;
}

/** expectHelpOnQuestionMark presses ? and expects the shortcuts dialog, which every mode offers. */
async function expectHelpOnQuestionMark(user: ReturnType<typeof userEvent.setup>) {
  await user.keyboard('?');
  expect(screen.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeInTheDocument();
}

const nodeCards = () => screen.queryAllByTestId('workflow-node');
const nameBox = () => screen.getByRole<HTMLInputElement>('textbox', { name: 'Workflow name' });
/** headerOf returns the If-Match header of the fetch call made for the nth PUT. */
function ifMatchOfPut(n = 0): string | undefined {
  const puts = vi.mocked(fetch).mock.calls.filter(([, init]) => init?.method === 'PUT');
  return (puts[n]?.[1]?.headers as Record<string, string> | undefined)?.['If-Match'];
}

/**
 * refuseFirst makes the first request of method answer status with a problem (the fakes answer the
 * rest): the same path can fail once and then succeed.
 */
function refuseFirst(method: string, status: number, errors?: { location: string; message: string }[]) {
  const answer = vi.mocked(fetch).getMockImplementation()!;
  let refused = false;
  vi.mocked(fetch).mockImplementation(async (url: string | URL | Request, init?: RequestInit) => {
    if (!refused && init?.method === method) {
      refused = true;
      return new Response(JSON.stringify(problemFactory(status, `refused with ${status}`, errors)), {
        headers: { 'Content-Type': 'application/problem+json' },
        status,
      });
    }
    return answer(url as string, init);
  });
}

/** refusedValidation answers the check as one edits with a problem: 422 lists errors, 503 is down. */
function refusedValidation(status: number, errors?: { location: string; message: string }[]): FakeRoute {
  return { body: problemFactory(status, status === 503 ? 'down' : 'invalid', errors), method: 'POST', path: '/api/v1/workflows/validate', status };
}

beforeEach(() => {
  localStorage.clear();
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('Editor: saving', () => {
  it('saves a change with the version it was opened at, then shows the new version', async () => {
    const calls = fakeApi(
      routes([{ body: (_url: string, body: object) => ({ ...workflowFactory(), ...body, version: 4 }), method: 'PUT', path: '/api/v1/workflows/w1' }]),
    );
    const { user } = openEditor();
    expect(await screen.findByTestId('version')).toHaveTextContent('v3');
    expect(screen.getByRole('button', { name: 'Save' })).toBeDisabled();
    await user.clear(nameBox());
    await user.type(nameBox(), 'Orders');
    expect(screen.getByTestId('dirty')).toHaveTextContent('Unsaved changes');
    expect(document.title).toContain('Orders');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('Saved as version 4')).toBeInTheDocument();
    const put = calls.find((c) => c.method === 'PUT')!;
    expect(put.url).toBe('/api/v1/workflows/w1');
    expect(put.body).toMatchObject({ name: 'Orders', nodes: expect.arrayContaining([expect.objectContaining({ id: 'check', type: 'flow.if' })]) });
    expect(ifMatchOfPut()).toBe('"3"');
    expect(screen.getByTestId('version')).toHaveTextContent('v4');
    expect(screen.queryByTestId('dirty')).toBeNull();
  });

  it('on a conflict (412) asks, and "Reload their version" replaces the edit with theirs', async () => {
    const theirs = workflowFactory({ name: 'Their name', version: 5 });
    fakeApi([{ body: problemFactory(412, 'version 3 is not the latest'), method: 'PUT', path: '/api/v1/workflows/w1', status: 412 }, ...routes([], theirs)]);
    const { user } = openEditor();
    await user.type(nameBox(), ' (mine)');
    // Ctrl+S saves from anywhere, even while typing in a field.
    await user.keyboard('{Control>}s{/Control}');
    const dialog = await screen.findByRole('dialog', { name: 'This workflow changed' });
    await user.click(within(dialog).getByRole('button', { name: 'Reload their version' }));
    expect(await screen.findByText('Reloaded version 5')).toBeInTheDocument();
    expect(nameBox()).toHaveValue('Their name');
    expect(screen.getByTestId('version')).toHaveTextContent('v5');
    expect(screen.queryByRole('dialog', { name: 'This workflow changed' })).toBeNull();
  });

  it('"Overwrite with mine" saves again on top of the version now stored', async () => {
    const calls = fakeApi(
      routes(
        [{ body: (_url: string, body: object) => ({ ...workflowFactory(), ...body, version: 6 }), method: 'PUT', path: '/api/v1/workflows/w1' }],
        workflowFactory({ name: 'Their name', version: 5 }),
      ),
    );
    refuseFirst('PUT', 412);
    const { user } = openEditor();
    await user.type(nameBox(), ' (mine)');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    const dialog = await screen.findByRole('dialog', { name: 'This workflow changed' });
    await user.click(within(dialog).getByRole('button', { name: 'Overwrite with mine' }));
    expect(await screen.findByText('Saved as version 6')).toBeInTheDocument();
    expect(ifMatchOfPut(0)).toBe('"3"');
    expect(ifMatchOfPut(1)).toBe('"5"');
    expect(calls.filter((c) => c.method === 'PUT').at(-1)!.body).toMatchObject({ name: 'Test workflow (mine)' });
    expect(nameBox()).toHaveValue('Test workflow (mine)');
  });

  it('a refused save (422) says to fix the highlighted fields and marks the node', async () => {
    const errors = [{ location: '/nodes/1/config/condition', message: 'is required' }];
    // The check as one edits agrees with the save: neither clears what the other marked.
    fakeApi([refusedValidation(422, errors), ...routes()]);
    refuseFirst('PUT', 422, errors);
    const { user } = openEditor();
    await user.type(nameBox(), '!');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText(/Fix the highlighted fields and save again/)).toBeInTheDocument();
    expect(screen.getByLabelText(/\(check\), 1 problem/)).toBeInTheDocument();
    expect(screen.getByTestId('dirty')).toBeInTheDocument();
  });
});

describe('Editor: a new draft', () => {
  it('is created on the server a moment after its first change, and the address becomes the new workflow', async () => {
    const calls = fakeApi([
      { body: (_url: string, body: object) => ({ ...workflowFactory({ id: 'w9', version: 1 }), ...body }), method: 'POST', path: '/api/v1/workflows/validate' },
      { body: (_url: string, body: object) => ({ ...workflowFactory({ id: 'w9', version: 1 }), ...body }), method: 'POST', path: '/api/v1/workflows' },
      ...routes(),
    ]);
    const { router } = renderRoute(<Editor draft={newWorkflowDraft()} types={types} />, '/workflows/new', '/workflows/:id', { me: fakeMe('editor') });
    expect(screen.getByTestId('version')).toHaveTextContent('Draft');
    // A draft has no history or executions yet.
    expect(screen.queryByRole('button', { name: 'Version history' })).toBeNull();
    expect(screen.queryByTestId('workflow-executions-link')).toBeNull();
    // One change (typing is one change a key: the draft waits for a pause).
    fireEvent.change(nameBox(), { target: { value: 'Invoices' } });
    await waitFor(() => expect(router.state.location.pathname).toBe('/workflows/w9'));
    const created = calls.filter((c) => c.method === 'POST' && c.url === '/api/v1/workflows');
    expect(created).toHaveLength(1);
    expect(created[0]!.body).toMatchObject({ name: 'Invoices' });
    expect(await screen.findByText('Workflow created')).toBeInTheDocument();
  });
});

describe('Editor: running', () => {
  it('saves the unsaved change first, starts the run, paints it and says how it ended', async () => {
    const done = executionFactory({
      durationMs: 1500,
      id: 'e1',
      nodeRuns: [nodeRunFactory({ nodeId: 'start' }), nodeRunFactory({ nodeId: 'check', port: 'true' }), nodeRunFactory({ nodeId: 'a' })],
      workflowId: 'w1',
    });
    const calls = fakeApi(
      routes([
        { body: (_url: string, body: object) => ({ ...workflowFactory(), ...body, version: 4 }), method: 'PUT', path: '/api/v1/workflows/w1' },
        { body: done, method: 'POST', path: '/api/v1/workflows/w1/executions' },
        { body: done, path: '/api/v1/executions/e1' },
      ]),
    );
    const { user } = openEditor();
    await user.type(nameBox(), '!');
    await user.click(screen.getByRole('button', { name: 'Run' }));
    const dialog = await screen.findByRole('dialog', { name: 'Run workflow' });
    expect(within(dialog).getByText(/Your unsaved changes are saved first/)).toBeInTheDocument();
    const input = within(dialog).getByRole('textbox');
    await user.clear(input);
    fireEvent.change(input, { target: { value: '{"total": 120}' } });
    await user.click(within(dialog).getByRole('button', { name: 'Save and run' }));
    expect(await screen.findByText('Run finished in 1.50 s')).toBeInTheDocument();
    const methods = calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.url}`);
    expect(methods.indexOf('PUT /api/v1/workflows/w1')).toBeLessThan(methods.indexOf('POST /api/v1/workflows/w1/executions'));
    expect(calls.find((c) => c.url === '/api/v1/workflows/w1/executions')!.body).toEqual({ input: { total: 120 } });
    const bar = screen.getByTestId('run-bar');
    expect(bar).toHaveTextContent('3 node runs');
    expect(within(bar).getByRole('link', { name: 'Details' })).toHaveAttribute('href', '/executions/e1');
    expect(screen.getByLabelText(/\(a\), succeeded/)).toBeInTheDocument();
    // The input is offered again next time.
    expect(localStorage.getItem('cm-run-input:w1')).toBe('{"total": 120}');
    await user.click(within(bar).getByRole('button', { name: 'Hide the run' }));
    expect(screen.queryByTestId('run-bar')).toBeNull();
  });

  it('says where a run failed, and that a refused start did not start', async () => {
    const failed = executionFactory({ error: { message: 'boom', nodeId: 'a' }, id: 'e2', status: 'failed' });
    fakeApi(
      routes([
        { body: failed, method: 'POST', path: '/api/v1/workflows/w1/executions' },
        { body: failed, path: '/api/v1/executions/e2' },
      ]),
    );
    const { user } = openEditor();
    await screen.findByTestId('version');
    await user.keyboard('{Control>}{Enter}{/Control}');
    await user.click(within(await screen.findByRole('dialog', { name: 'Run workflow' })).getByRole('button', { name: 'Run' }));
    expect(await screen.findByText('Run failed at a')).toBeInTheDocument();
    expect(screen.getByText('boom')).toBeInTheDocument();

    refuseFirst('POST', 429);
    await user.click(screen.getByRole('button', { name: 'Run' }));
    await user.click(within(await screen.findByRole('dialog', { name: 'Run workflow' })).getByRole('button', { name: 'Run' }));
    expect(await screen.findByText('Run not started')).toBeInTheDocument();
  });
});

describe('Editor: validation as one edits', () => {
  it('counts the problems; the list names each and brings its node up', async () => {
    const errors = [
      { location: '/nodes/1/config/condition', message: 'is required' },
      { location: '/name', message: 'is too long' },
    ];
    fakeApi([refusedValidation(422, errors), ...routes()]);
    const { user } = openEditor();
    const badge = await screen.findByRole('button', { name: '2 problems' });
    await user.click(badge);
    const list = screen.getByRole('dialog', { name: 'Problems' });
    expect(within(list).getByText('is too long')).toBeInTheDocument();
    expect(within(list).getByText('/name')).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog', { name: 'Problems' })).toBeNull();
    expect(badge).toHaveFocus();
    await user.click(badge);
    await user.click(within(screen.getByRole('dialog', { name: 'Problems' })).getByRole('button', { name: /check.*is required/ }));
    expect(screen.queryByRole('dialog', { name: 'Problems' })).toBeNull();
    // The node's panel opens on it.
    expect(await screen.findByRole('button', { name: 'Close panel' })).toBeInTheDocument();
    expect(screen.getByRole('complementary', { name: 'Details' })).toHaveTextContent('If');

    // A run is blocked by the problems, and the dialog lists them.
    await user.click(screen.getByRole('button', { name: 'Run' }));
    const blockers = within(await screen.findByRole('dialog', { name: 'Run workflow' })).getByTestId('run-blockers');
    expect(blockers).toHaveTextContent('check · Condition: is required');
    expect(blockers).toHaveTextContent('/name: is too long');
  });

  it('says when validation cannot be reached', async () => {
    fakeApi([refusedValidation(503), ...routes()]);
    openEditor();
    expect(await screen.findByText(/Validation unavailable: down/)).toBeInTheDocument();
  });
});

describe('Editor: keyboard', () => {
  it('adds with A, a note with N, undoes and redoes, selects all, duplicates and deletes', async () => {
    const { user } = await openReady();
    expect(nodeCards()).toHaveLength(4);
    await user.keyboard('a');
    const quick = screen.getByRole('combobox', { name: 'Node type to add' });
    await user.type(quick, 'http{Enter}');
    expect(nodeCards()).toHaveLength(5);
    expect(screen.queryByRole('dialog', { name: 'Add a node' })).toBeNull();
    await user.keyboard('n');
    expect(await screen.findAllByTestId('note')).toHaveLength(1);
    // The new note is open for typing: the toolbar undoes it.
    await user.click(screen.getByRole('button', { name: 'Undo' }));
    expect(screen.queryAllByTestId('note')).toHaveLength(0);
    await user.keyboard('{Control>}z{/Control}');
    expect(nodeCards()).toHaveLength(4);
    await user.keyboard('{Control>}y{/Control}');
    expect(nodeCards()).toHaveLength(5);
    await user.keyboard('{Control>}a{/Control}');
    await user.keyboard('{Control>}c{/Control}');
    expect(await screen.findByText('Copied 5 nodes')).toBeInTheDocument();
    await user.keyboard('d');
    expect(nodeCards()).toHaveLength(10);
    await user.keyboard('{Control>}a{/Control}{Delete}');
    expect(nodeCards()).toHaveLength(0);
    await user.keyboard('{Control>}v{/Control}');
    await waitFor(() => expect(nodeCards()).toHaveLength(5));
  });

  it('finds a node with Ctrl+F and opens it; ? lists the shortcuts', async () => {
    const { user } = await openReady();
    await user.keyboard('{Control>}f{/Control}');
    const find = screen.getByRole('combobox', { name: 'Find a node by title, id or type' });
    await user.type(find, 'check');
    expect(within(screen.getByTestId('find-node')).getAllByRole('option')).toHaveLength(1);
    await user.keyboard('{Enter}');
    expect(screen.queryByTestId('find-node')).toBeNull();
    expect(await screen.findByRole('button', { name: 'Close panel' })).toBeInTheDocument();
    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('button', { name: 'Close panel' })).toBeNull());
    await expectHelpOnQuestionMark(user);
  });
});

describe('Editor: context menu', () => {
  it('offers to add a node or a note on the canvas, and to duplicate or delete a node', async () => {
    const { container, user } = await openReady();
    fireEvent.contextMenu(container.querySelector('.react-flow__pane')!, { clientX: 300, clientY: 200 });
    const menu = screen.getByRole('menu', { name: 'Canvas menu' });
    expect(within(menu).getByRole('menuitem', { name: /Paste/ })).toBeDisabled();
    await user.click(within(menu).getByRole('menuitem', { name: /Add note here/ }));
    expect(await screen.findAllByTestId('note')).toHaveLength(1);

    fireEvent.contextMenu(container.querySelector('.react-flow__node[data-id="a"]')!, { clientX: 300, clientY: 200 });
    await user.click(within(screen.getByRole('menu', { name: 'Node menu' })).getByRole('menuitem', { name: /Duplicate/ }));
    expect(nodeCards()).toHaveLength(5);
    fireEvent.contextMenu(container.querySelector('.react-flow__node[data-id="a"]')!, { clientX: 300, clientY: 200 });
    await user.click(within(screen.getByRole('menu', { name: 'Node menu' })).getByRole('menuitem', { name: /Delete/ }));
    expect(container.querySelector('.react-flow__node[data-id="a"]')).toBeNull();

    fireEvent.contextMenu(container.querySelector('.react-flow__pane')!, { clientX: 300, clientY: 200 });
    await user.click(within(screen.getByRole('menu', { name: 'Canvas menu' })).getByRole('menuitem', { name: /Add node here/ }));
    await user.click(screen.getByRole('option', { name: /Webhook/ }));
    expect(screen.getByLabelText(/\(webhook\)/)).toBeInTheDocument();
  });
});

describe('Editor: around the canvas', () => {
  it('asks before leaving with unsaved changes', async () => {
    fakeApi(routes());
    const { router, user } = openEditor();
    await user.type(nameBox(), '!');
    await user.click(screen.getByRole('link', { name: 'Back to workflows' }));
    const ask = await screen.findByRole('dialog', { name: 'Leave with unsaved changes?' });
    await user.click(within(ask).getByRole('button', { name: 'Stay' }));
    expect(router.state.location.pathname).toBe('/workflows/w1');
    await user.click(screen.getByRole('link', { name: 'Back to workflows' }));
    await user.click(within(await screen.findByRole('dialog', { name: 'Leave with unsaved changes?' })).getByRole('button', { name: 'Leave without saving' }));
    expect(await screen.findByText('elsewhere')).toBeInTheDocument();
  });

  it('hides the palette and remembers it; opens the version history', async () => {
    fakeApi(routes([{ body: { items: [] }, path: '/api/v1/workflows/w1/versions' }]));
    const { user } = openEditor();
    expect(screen.getByRole('complementary', { name: 'Node palette' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Node palette' }));
    expect(screen.queryByRole('complementary', { name: 'Node palette' })).toBeNull();
    expect(localStorage.getItem('cm-palette')).toBe('closed');
    const history = screen.getByRole('button', { name: 'Version history' });
    await user.click(history);
    expect(history).toHaveAttribute('aria-expanded', 'true');
  });

  it('switches a webhook workflow on and off', async () => {
    const hooked = workflowFactory({ nodes: [nodeFactory('hook', 'trigger.webhook', { config: { path: 'orders' } })], edges: [] });
    const calls = fakeApi(routes([{ body: { ...hooked, active: true }, method: 'POST', path: '/api/v1/workflows/w1/activate' }], hooked));
    const { user } = openEditor(hooked);
    const toggle = await screen.findByRole('switch', { name: /Inactive/ });
    await user.click(toggle);
    expect(await screen.findByText('Active: webhook and schedule triggers are on')).toBeInTheDocument();
    expect(screen.getByRole('switch', { name: /Active/ })).toHaveAttribute('aria-checked', 'true');
    expect(calls.some((c) => c.method === 'POST' && c.url === '/api/v1/workflows/w1/activate')).toBe(true);
  });

  it('read-only: shows the state of the triggers, and keys only look around', async () => {
    const hooked = workflowFactory({ active: true, nodes: [nodeFactory('hook', 'trigger.webhook', { config: { path: 'orders' } })], edges: [] });
    fakeApi(routes([], hooked));
    const { user } = openEditor(hooked, { readOnly: true });
    expect(await screen.findByTestId('active-state')).toHaveTextContent('Active');
    await user.keyboard('a');
    expect(screen.queryByRole('dialog', { name: 'Add a node' })).toBeNull();
    await user.keyboard('{Control>}a{/Control}{Delete}');
    expect(nodeCards()).toHaveLength(1);
    await expectHelpOnQuestionMark(user);
  });
});

describe('Editor: more from the keyboard and menus', () => {
  it('moves the selection with the arrows, renames with F2, and opens the menu with Shift+F10', async () => {
    const { container, user } = await openReady();
    const node = () => container.querySelector<HTMLElement>('.react-flow__node[data-id="a"]')!;
    const before = node().style.transform;
    await user.keyboard('{Control>}a{/Control}');
    await user.keyboard('{Shift>}{ArrowRight}{/Shift}{ArrowDown}');
    await waitFor(() => expect(node().style.transform).not.toBe(before));
    expect(screen.getByTestId('dirty')).toBeInTheDocument();
    // With several selected, Shift+F10 opens the canvas's menu; with one, that node's.
    await user.keyboard('{Shift>}{F10}{/Shift}');
    const pane = screen.getByRole('menu', { name: 'Canvas menu' });
    await user.click(within(pane).getByRole('menuitem', { name: /Select all/ }));
    await user.keyboard('{Escape}');
    // A click selects (a pointer press would start React Flow's drag, which jsdom cannot follow).
    fireEvent.click(node());
    await user.keyboard('{Shift>}{F10}{/Shift}');
    await user.click(within(screen.getByRole('menu', { name: 'Node menu' })).getByRole('menuitem', { name: /Rename/ }));
    // Nodes jsdom cannot measure stay hidden to the role queries: the title box is found by its label.
    const title = await screen.findByLabelText('Node title');
    await user.clear(title);
    await user.type(title, 'Big order{Enter}');
    expect(screen.getByLabelText(/Big order \(a\)/)).toBeInTheDocument();
    await user.keyboard('{F2}');
    expect(await screen.findByLabelText('Node title')).toHaveValue('Big order');
  });

  it('pastes nodes copied from another workflow (clipboard JSON), and deletes a note from its menu', async () => {
    const { user } = await openReady();
    const clip = { edges: [], nodes: [nodeFactory('fetch', 'http.request', { config: { url: 'https://example.com' } })] };
    fireEvent.paste(document, { clipboardData: { getData: () => JSON.stringify(clip) } });
    await waitFor(() => expect(nodeCards()).toHaveLength(5));
    expect(screen.getByLabelText(/\(fetch\)/)).toBeInTheDocument();
    // Text that is not a clip is not pasted.
    fireEvent.paste(document, { clipboardData: { getData: () => 'hello' } });
    expect(nodeCards()).toHaveLength(5);

    await user.click(screen.getByRole('button', { name: 'Add a note' }));
    const note = await screen.findByTestId('note');
    fireEvent.contextMenu(note.closest('.react-flow__node')!, { clientX: 100, clientY: 100 });
    await user.click(within(screen.getByRole('menu', { name: 'Note menu' })).getByRole('menuitem', { name: /Delete note/ }));
    expect(screen.queryByTestId('note')).toBeNull();
  });

  it('lays the graph out again from the toolbar', async () => {
    const { container, user } = await openReady();
    const node = () => container.querySelector<HTMLElement>('.react-flow__node[data-id="b"]')!;
    const before = node().style.transform;
    await user.click(screen.getByRole('button', { name: 'Auto-layout' }));
    await waitFor(() => expect(node().style.transform).not.toBe(before));
    expect(screen.getByTestId('dirty')).toBeInTheDocument();
  });

  it('listens for a test event on a webhook: activates the workflow first, then shows the listening bar until stopped', async () => {
    const hooked = workflowFactory({ edges: [], nodes: [nodeFactory('hook', 'trigger.webhook', { config: { path: 'orders' } })] });
    fakeApi(routes([{ body: { ...hooked, active: true }, method: 'POST', path: '/api/v1/workflows/w1/activate' }], hooked));
    const { container, user } = openEditor(hooked);
    await screen.findByTestId('version');
    fireEvent.click(container.querySelector<HTMLElement>('.react-flow__node[data-id="hook"]')!);
    await user.click(await screen.findByRole('button', { name: 'Activate and listen for test event' }));
    expect(await screen.findByText('Activated: webhook and schedule triggers are on')).toBeInTheDocument();
    const bar = await screen.findByTestId('listening-bar');
    expect(bar).toHaveTextContent('Listening for a test event');
    await user.click(within(bar).getByRole('button', { name: 'Stop' }));
    expect(screen.queryByTestId('listening-bar')).toBeNull();
  });
});

describe('Editor: the palette and the menu keys', () => {
  it('adds a node type dropped from the palette; other drops are ignored', async () => {
    const { container } = await openReady();
    const flow = container.querySelector<HTMLElement>('.react-flow')!;
    const dataTransfer = (type: string, value: string) => ({ dropEffect: 'none', getData: (t: string) => (t === type ? value : ''), types: [type] });
    const over = dataTransfer(PALETTE_MIME, 'http.request');
    fireEvent.dragOver(flow, { dataTransfer: over });
    expect(over.dropEffect).toBe('copy');
    fireEvent.drop(flow, { clientX: 400, clientY: 300, dataTransfer: dataTransfer(PALETTE_MIME, 'http.request') });
    expect(nodeCards()).toHaveLength(5);
    expect(screen.getByLabelText(/^HTTP request \(/)).toBeInTheDocument();
    fireEvent.drop(flow, { dataTransfer: dataTransfer('text/plain', 'hello') });
    expect(nodeCards()).toHaveLength(5);
  });

  it('moves through the context menu with the arrows, and closes it with Escape', async () => {
    const { container, user } = await openReady();
    fireEvent.contextMenu(container.querySelector('.react-flow__pane')!, { clientX: 300, clientY: 200 });
    const items = within(screen.getByRole('menu', { name: 'Canvas menu' })).getAllByRole('menuitem');
    expect(items[0]).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(items[1]).toHaveFocus();
    // Paste is disabled (nothing copied): the arrows pass over it.
    await user.keyboard('{ArrowDown}');
    expect(items[3]).toHaveFocus();
    await user.keyboard('{End}');
    expect(items.at(-1)).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(items[0]).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).toBeNull();
  });
});

describe('Editor: notes', () => {
  it('writes a new note in Markdown, recolours it while editing, and shows it rendered', async () => {
    const { user } = await openReady();
    await user.keyboard('n');
    const text = await screen.findByLabelText('Note text (Markdown)');
    await waitFor(() => expect(text).toHaveFocus());
    await user.type(text, '# Ask finance{Enter}before **Friday**');
    await user.click(screen.getByLabelText('blue'));
    expect(screen.getByLabelText('blue')).toHaveAttribute('aria-checked', 'true');
    await user.keyboard('{Escape}');
    const note = screen.getByLabelText('Note: Ask finance');
    expect(within(note).getByText('Friday').tagName).toBe('STRONG');
    expect(screen.queryByLabelText('Note text (Markdown)')).toBeNull();
    // A double-click edits it again, from its text.
    fireEvent.doubleClick(note);
    expect(await screen.findByLabelText('Note text (Markdown)')).toHaveValue('# Ask finance\nbefore **Friday**');
  });
});

describe('Editor: runs started elsewhere', () => {
  let client: LiveClient;
  afterEach(() => {
    client.stop();
    FakeSocket.all = [];
  });

  /** openLive opens w1 with a live client whose socket is connected and subscribed to the workflow. */
  async function openLive(workflow = workflowFactory(), extra: FakeRoute[] = []) {
    const calls = fakeApi(routes(extra, workflow));
    client = new LiveClient({ EventSource: undefined, origin: 'http://x', random: () => 0.5, WebSocket: FakeSocket });
    const user = userEvent.setup();
    renderRoute(
      <LiveClientContext.Provider value={client}>
        <Editor types={types} workflow={workflow} />
      </LiveClientContext.Provider>,
      '/workflows/w1',
      '/workflows/:id',
      { me: fakeMe('editor') },
    );
    await screen.findByTestId('version');
    const socket = FakeSocket.all[0]!;
    act(() => {
      socket.connect();
    });
    const sub = await vi.waitFor(() => {
      const s = socket.sent.find((m) => m.type === 'subscribe' && m.workflowId === 'w1');
      expect(s).toBeDefined();
      return s!;
    });
    const queued = (executionId: string, trigger: string) =>
      act(() =>
        socket.receive({
          executionId,
          payload: { trigger },
          seq: 1,
          subscription: sub.id,
          time: '2026-01-01T00:00:00Z',
          type: 'execution.queued',
          workflowId: 'w1',
        }),
      );
    return { calls, queued, user };
  }

  it('follows the latest run of the workflow on the canvas', async () => {
    const e5 = executionFactory({ id: 'e5', nodeRuns: [nodeRunFactory({ nodeId: 'start' })], status: 'running', workflowId: 'w1' });
    const { queued } = await openLive(workflowFactory(), [{ body: e5, path: '/api/v1/executions/e5' }]);
    expect(screen.queryByTestId('run-bar')).toBeNull();
    queued('e5', 'schedule');
    const bar = await screen.findByTestId('run-bar');
    expect(within(bar).getByRole('link', { name: 'Details' })).toHaveAttribute('href', '/executions/e5');
  });

  it('shows the run of the test event a webhook received while listening', async () => {
    const hooked = workflowFactory({ active: true, edges: [], nodes: [nodeFactory('hook', 'trigger.webhook', { config: { path: 'orders' } })] });
    const e6 = executionFactory({ id: 'e6', status: 'running', trigger: { kind: 'webhook' }, workflowId: 'w1' });
    const { calls, queued, user } = await openLive(hooked, [{ body: e6, path: '/api/v1/executions/e6' }]);
    fireEvent.click(document.querySelector<HTMLElement>('.react-flow__node[data-id="hook"]')!);
    // Already active: listening activates nothing.
    await user.click(await screen.findByRole('button', { name: 'Listen for test event' }));
    expect(await screen.findByTestId('listening-bar')).toBeInTheDocument();
    queued('e6', 'webhook');
    expect(await screen.findByText('Test event received: the run is on the canvas')).toBeInTheDocument();
    expect(screen.queryByTestId('listening-bar')).toBeNull();
    expect(within(await screen.findByTestId('run-bar')).getByRole('link', { name: 'Details' })).toHaveAttribute('href', '/executions/e6');
    expect(calls.some((c) => c.url.endsWith('/activate'))).toBe(false);
  });
});
