import { describe, expect, it } from 'vitest';

import { catalogFactory, definitionFactory } from '@test/factories';

import { definitionFromGraph } from './graphModel';
import { cardHeight } from './motion';
import { createEditorStore, isDirty } from './store';

function setup() {
  const store = createEditorStore({ catalog: catalogFactory(), definition: definitionFactory(), version: 3, workflowId: 'wf1' });
  return { store };
}

describe('editor store', () => {
  it('starts clean, from the saved definition', () => {
    const { store } = setup();
    const s = store.getState();
    expect(s.nodes.map((n) => n.id)).toEqual(['start', 'check', 'a', 'b']);
    expect(s.edges).toHaveLength(3);
    expect(isDirty(s)).toBe(false);
    expect(definitionFromGraph(s)).toEqual(
      definitionFactory({
        nodes: definitionFactory().nodes!.map((n) => (n.id === 'start' ? { id: 'start', position: n.position, type: n.type } : n)),
      }),
    );
  });

  it('adds a node with a unique id at the given centre and selects it', () => {
    const { store } = setup();
    const id1 = store.getState().addNode('data.set', { x: 500, y: 300 });
    const id2 = store.getState().addNode('data.set', { x: 500, y: 400 });
    expect(id1).toBe('set');
    expect(id2).toBe('set_2');
    const s = store.getState();
    const n = s.nodes.find((x) => x.id === 'set_2')!;
    expect(n.position).toEqual({ x: 380, y: 370 });
    expect(n.selected).toBe(true);
    expect(s.nodes.filter((x) => x.selected).map((x) => x.id)).toEqual(['set_2']);
    expect(s.selectedId).toBe('set_2');
    expect(isDirty(s)).toBe(true);
    // Sized up front, so that React Flow shows it at once: one row of ports, or two for an if.
    expect([n.initialWidth, n.initialHeight]).toEqual([240, cardHeight(1)]);
    const ifId = store.getState().addNode('flow.if', { x: 0, y: 0 });
    expect(store.getState().nodes.find((x) => x.id === ifId)!.initialHeight).toBe(cardHeight(2));
    expect(cardHeight(2) - cardHeight(1)).toBe(22);
  });

  it('gives new and copied nodes unique default titles', () => {
    const { store } = setup();
    const title = (id: string) => store.getState().nodes.find((n) => n.id === id)!.data.name;
    // a and b (data.set) already show the type's title.
    const id1 = store.getState().addNode('data.set', { x: 0, y: 0 });
    const id2 = store.getState().addNode('data.set', { x: 0, y: 100 });
    expect([title(id1), title(id2)]).toEqual(['Set fields 2', 'Set fields 3']);
    const t = store.getState().addNode('trigger.webhook', { x: 0, y: 200 });
    expect(title(t)).toBeUndefined();
    store.getState().select(id2);
    expect(store.getState().duplicateSelection()).toBe(1);
    const copy = store.getState().selectedId!;
    expect(title(copy)).toBe('Set fields 4');
  });

  it('undoes and redoes changes, and undoing back to the saved state makes it clean again', () => {
    const { store } = setup();
    store.getState().addNode('data.set', { x: 0, y: 0 });
    store.getState().updateNodeConfig('check', { condition: '{{ input.total > 5 }}' });
    expect(store.getState().nodes).toHaveLength(5);

    store.getState().undo();
    expect(store.getState().nodes.find((n) => n.id === 'check')!.data.config).toEqual({ condition: '{{ input.total > 100 }}' });
    expect(store.getState().nodes).toHaveLength(5);
    store.getState().undo();
    expect(store.getState().nodes).toHaveLength(4);
    expect(isDirty(store.getState())).toBe(false);

    store.getState().redo();
    store.getState().redo();
    expect(store.getState().nodes).toHaveLength(5);
    expect(store.getState().nodes.find((n) => n.id === 'check')!.data.config).toEqual({ condition: '{{ input.total > 5 }}' });
    expect(isDirty(store.getState())).toBe(true);
  });

  it('merges keystrokes in one field into a single undo step', () => {
    const { store } = setup();
    for (const v of ['{{ i', '{{ in', '{{ inp', '{{ input }}']) store.getState().updateNodeConfig('check', { condition: v });
    expect(store.getState().past).toHaveLength(1);
    store.getState().undo();
    expect(store.getState().nodes.find((n) => n.id === 'check')!.data.config.condition).toBe('{{ input.total > 100 }}');
  });

  it('a new change after undo drops the redo stack', () => {
    const { store } = setup();
    store.getState().addNode('data.set', { x: 0, y: 0 });
    store.getState().undo();
    store.getState().addNode('http.request', { x: 0, y: 0 });
    expect(store.getState().future).toHaveLength(0);
    store.getState().redo();
    expect(store.getState().nodes.map((n) => n.id)).toEqual(['start', 'check', 'a', 'b', 'request']);
  });

  it('connects valid ports and refuses invalid ones with a reason', () => {
    const { store } = setup();
    store.getState().addNode('http.request', { x: 0, y: 0 });
    expect(store.getState().connect({ source: 'a', sourceHandle: 'out', target: 'request', targetHandle: 'in' })).toEqual({ ok: true });
    expect(store.getState().edges.map((e) => e.id)).toContain('a:out->request:in');

    const unknownPort = store.getState().connect({ source: 'check', sourceHandle: 'maybe', target: 'request', targetHandle: 'in' });
    expect(unknownPort).toMatchObject({ ok: false, reason: expect.stringContaining('no output port "maybe"') });

    const cycle = store.getState().connect({ source: 'request', sourceHandle: 'out', target: 'check', targetHandle: 'in' });
    expect(cycle).toMatchObject({ ok: false, reason: expect.stringContaining('cycle') });

    const toTrigger = store.getState().connect({ source: 'b', sourceHandle: 'out', target: 'start', targetHandle: 'in' });
    expect(toTrigger).toMatchObject({ ok: false, reason: expect.stringContaining('trigger') });

    const again = store.getState().connect({ source: 'a', sourceHandle: 'out', target: 'request', targetHandle: 'in' });
    expect(again).toMatchObject({ ok: false, reason: expect.stringContaining('already connected') });
    expect(store.getState().edges).toHaveLength(4);
  });

  it('deletes the selection with its edges', () => {
    const { store } = setup();
    store.getState().select('check');
    expect(store.getState().deleteSelection()).toBe(1);
    const s = store.getState();
    expect(s.nodes.map((n) => n.id)).toEqual(['start', 'a', 'b']);
    expect(s.edges).toHaveLength(0);
    expect(s.selectedId).toBeNull();
    s.undo();
    expect(store.getState().edges).toHaveLength(3);
  });

  it('duplicates selected nodes with fresh ids and keeps the edges between them', () => {
    const { store } = setup();
    store.getState().onNodesChange([
      { id: 'check', selected: true, type: 'select' },
      { id: 'a', selected: true, type: 'select' },
    ]);
    expect(store.getState().duplicateSelection()).toBe(2);
    const s = store.getState();
    expect(s.nodes.map((n) => n.id)).toEqual(['start', 'check', 'a', 'b', 'check_2', 'a_2']);
    expect(s.edges.map((e) => e.id)).toContain('check_2:true->a_2:in');
    expect(s.nodes.find((n) => n.id === 'check_2')!.position).toEqual({ x: 340, y: 40 });
    expect(s.nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(['check_2', 'a_2']);
  });

  it('copies and pastes at a position', () => {
    const { store } = setup();
    store.getState().select('a');
    const clip = store.getState().copySelection();
    expect(clip?.nodes.map((n) => n.id)).toEqual(['a']);
    expect(store.getState().paste({ x: 1000, y: 1000 })).toBe(1);
    const pasted = store.getState().nodes.find((n) => n.id === 'a_2')!;
    expect(pasted.position).toEqual({ x: 1000, y: 1000 });
    expect(pasted.data.config).toEqual({ fields: { big: true } });
  });

  it('renames a node and rewires its edges, refusing ids that are not expression identifiers', () => {
    const { store } = setup();
    expect(store.getState().renameNode('check', 'Is-Big')).toMatchObject({ ok: false });
    expect(store.getState().renameNode('check', 'a')).toMatchObject({ ok: false });
    expect(store.getState().renameNode('check', 'is_big')).toEqual({ ok: true });
    expect(store.getState().edges.map((e) => e.id)).toEqual(['start:out->is_big:in', 'is_big:true->a:in', 'is_big:false->b:in']);
  });

  it('drops edges from an error port when onError stops routing to it', () => {
    const { store } = setup();
    store.getState().updateNodeData('a', { onError: 'errorPort' });
    expect(store.getState().connect({ source: 'a', sourceHandle: 'error', target: 'b', targetHandle: 'in' })).toEqual({ ok: true });
    store.getState().updateNodeData('a', { onError: 'continue' });
    expect(store.getState().edges.map((e) => e.id)).not.toContain('a:error->b:in');
  });

  it('records a drag as one undo step', () => {
    const { store } = setup();
    store.getState().beginDrag();
    store.getState().onNodesChange([{ dragging: true, id: 'a', position: { x: 10, y: 10 }, type: 'position' }]);
    store.getState().onNodesChange([{ dragging: true, id: 'a', position: { x: 20, y: 20 }, type: 'position' }]);
    store.getState().onNodesChange([{ dragging: false, id: 'a', position: { x: 30, y: 30 }, type: 'position' }]);
    expect(isDirty(store.getState())).toBe(true);
    store.getState().undo();
    expect(store.getState().nodes.find((n) => n.id === 'a')!.position).toEqual({ x: 600, y: -80 });
    expect(isDirty(store.getState())).toBe(false);
  });

  it('moves the whole selection with the arrow keys, one undo step per burst', () => {
    const { store } = setup();
    store.getState().selectAll();
    const before = store.getState().nodes.map((n) => n.position);
    for (let i = 0; i < 4; i++) store.getState().moveSelection(5, 0);
    store.getState().endMove();
    expect(store.getState().nodes.map((n) => n.position)).toEqual(before.map((p) => ({ x: p.x + 20, y: p.y })));
    store.getState().moveSelection(0, -5);
    store.getState().endMove();
    expect(store.getState().past).toHaveLength(2);
    store.getState().undo();
    expect(store.getState().nodes.map((n) => n.position)).toEqual(before.map((p) => ({ x: p.x + 20, y: p.y })));
    store.getState().undo();
    expect(store.getState().nodes.map((n) => n.position)).toEqual(before);
    expect(isDirty(store.getState())).toBe(false);
  });

  it('records arrow-key moves React Flow reports (dragging: false without a drag) as undoable', () => {
    const { store } = setup();
    const start = store.getState().nodes.find((n) => n.id === 'start')!.position;
    store.getState().onNodesChange([{ dragging: false, id: 'start', position: { x: start.x + 5, y: start.y }, type: 'position' }]);
    store.getState().onNodesChange([{ dragging: false, id: 'start', position: { x: start.x + 10, y: start.y }, type: 'position' }]);
    store.getState().endMove();
    expect(store.getState().past).toHaveLength(1);
    store.getState().undo();
    expect(store.getState().nodes.find((n) => n.id === 'start')!.position).toEqual(start);
  });

  it('moves nothing when nothing is selected', () => {
    const { store } = setup();
    store.getState().select(null);
    expect(store.getState().moveSelection(5, 0)).toBe(0);
    expect(store.getState().past).toHaveLength(0);
  });

  it('marks saved at the revision that was sent, so edits made during a save stay dirty', () => {
    const { store } = setup();
    store.getState().addNode('data.set', { x: 0, y: 0 });
    const sent = store.getState().revision;
    store.getState().addNode('data.set', { x: 0, y: 0 });
    store.getState().markSaved(4, sent);
    expect(store.getState().version).toBe(4);
    expect(isDirty(store.getState())).toBe(true);
  });

  it('changes nothing when read-only', () => {
    const store = createEditorStore({ catalog: catalogFactory(), definition: definitionFactory(), readOnly: true, version: 1, workflowId: 'w' });
    store.getState().addNode('data.set', { x: 0, y: 0 });
    store.getState().updateNodeConfig('check', {});
    expect(store.getState().nodes).toHaveLength(4);
    expect(isDirty(store.getState())).toBe(false);
  });
});

describe('webhook triggers', () => {
  const PATH = /^[A-Za-z0-9_-]{22}$/;
  const WEBHOOK_PATTERN = /^\/?[A-Za-z0-9_-][A-Za-z0-9._~-]*(\/[A-Za-z0-9._~-]+)*\/?$/;

  it('a new webhook trigger gets a random, unguessable path of its own', () => {
    const { store } = setup();
    const a = store.getState().addNode('trigger.webhook', { x: 0, y: 0 });
    const b = store.getState().addNode('trigger.webhook', { x: 0, y: 200 });
    const pathOf = (id: string) => store.getState().nodes.find((n) => n.id === id)!.data.config.path as string;
    expect(pathOf(a)).toMatch(PATH);
    expect(pathOf(a)).toMatch(WEBHOOK_PATTERN);
    expect(pathOf(b)).toMatch(PATH);
    expect(pathOf(a)).not.toBe(pathOf(b));
    // Other nodes get no path.
    const set = store.getState().addNode('data.set', { x: 0, y: 400 });
    expect(store.getState().nodes.find((n) => n.id === set)!.data.config).not.toHaveProperty('path');
  });

  it('a duplicated or pasted webhook trigger gets a new path, the rest of its config is kept', () => {
    const { store } = setup();
    const id = store.getState().addNode('trigger.webhook', { x: 0, y: 0 });
    store.getState().updateNodeConfig(id, { method: 'GET', path: 'orders/new' });
    store.getState().select(id);
    expect(store.getState().duplicateSelection()).toBe(1);
    const copy = store.getState().nodes.find((n) => n.id !== id && n.data.type === 'trigger.webhook')!;
    expect(copy.data.config.method).toBe('GET');
    expect(copy.data.config.path).toMatch(PATH);
    const clip = store.getState().copySelection()!;
    store.getState().paste(null, clip);
    const paths = store
      .getState()
      .nodes.filter((n) => n.data.type === 'trigger.webhook')
      .map((n) => n.data.config.path);
    expect(new Set(paths).size).toBe(3);
  });

  it('a read-only editor adds nothing', () => {
    const store = createEditorStore({ catalog: catalogFactory(), definition: definitionFactory(), readOnly: true, version: 3, workflowId: 'wf1' });
    const before = store.getState().nodes.length;
    store.getState().addNode('trigger.webhook', { x: 0, y: 0 });
    expect(store.getState().nodes).toHaveLength(before);
    expect(isDirty(store.getState())).toBe(false);
  });
});

describe('editor store notes', () => {
  it('adds, edits, moves, deletes and undoes notes, and saves them with the workflow', () => {
    const { store } = setup();
    const id = store.getState().addNote({ x: 10, y: 20 })!;
    expect(id).toBe('note:n1');
    expect(store.getState().editing).toBe(id);
    store.getState().setEditing(null);
    store.getState().updateNote(id, { text: '# Hi' });
    store.getState().updateNote(id, { color: 'green' });
    expect(definitionFromGraph(store.getState()).notes).toEqual([{ color: 'green', id: 'n1', position: { x: 10, y: 20 }, text: '# Hi' }]);
    // A finished resize is a change; the note's size is saved, bounded.
    store.getState().beginDrag();
    store.getState().onNodesChange([{ dimensions: { height: 9000, width: 300 }, id, resizing: false, setAttributes: true, type: 'dimensions' }]);
    expect(definitionFromGraph(store.getState()).notes![0]).toMatchObject({ height: 4000, width: 300 });
    store.getState().undo();
    expect(definitionFromGraph(store.getState()).notes![0]!.width).toBeUndefined();
    // Delete removes selected notes with the nodes; undo brings it back.
    store.getState().selectAll();
    store.getState().deleteSelection();
    expect(store.getState().notes).toEqual([]);
    expect(store.getState().nodes).toEqual([]);
    store.getState().undo();
    expect(store.getState().notes.map((n) => n.id)).toEqual([id]);
    expect(store.getState().addNote({ x: 0, y: 0 })).toBe('note:n2');
  });

  it('loads notes from the definition and keeps them apart from nodes', () => {
    const store = createEditorStore({
      catalog: catalogFactory(),
      definition: definitionFactory({ notes: [{ height: 300, id: 'keep', position: { x: 1, y: 2 }, text: 'x', width: 500 }] }),
      version: 1,
      workflowId: 'wf',
    });
    const s = store.getState();
    expect(s.notes.map((n) => [n.id, n.width, n.height])).toEqual([['note:keep', 500, 300]]);
    expect(s.nodes.map((n) => n.id)).not.toContain('note:keep');
    expect(definitionFromGraph(s).notes).toEqual([{ height: 300, id: 'keep', position: { x: 1, y: 2 }, text: 'x', width: 500 }]);
    // Selecting a note does not show it in the node panel.
    store.getState().onNodesChange([{ id: 'note:keep', selected: true, type: 'select' }]);
    expect(store.getState().notes[0]!.selected).toBe(true);
    expect(isDirty(store.getState())).toBe(false);
  });
});
