import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange, type XYPosition } from '@xyflow/react';
import { createStore, type StoreApi } from 'zustand/vanilla';

import type { Catalog } from '@services/nodeTypes';
import type { DefinitionFromAPI } from '@services/workflows';

import { checkConnection, type ConnectionCheck } from './connection';
import {
  baseIdFor,
  defaultConfig,
  edgeFromAPI,
  edgeId,
  type Graph,
  graphFromDefinition,
  inputPorts,
  isNoteId,
  makeEdge,
  MAX_NOTES,
  newNoteId,
  NOTE_HEIGHT,
  NOTE_PREFIX,
  NOTE_WIDTH,
  type NoteData,
  type NoteNode,
  NODE_ID_PATTERN,
  nodeFromAPI,
  nodeToAPI,
  outputPorts,
  randomWebhookPath,
  takenTitles,
  typeLabel,
  uniqueNodeId,
  uniqueTitle,
  WEBHOOK_TYPE,
  type WorkflowEdge,
  type WorkflowMeta,
  type WorkflowNode,
  type WorkflowNodeData,
} from './graphModel';
import { cardHeight } from './motion';
import { NO_PROBLEMS, type Problems } from './problems';

/** NODE_WIDTH is the width of a node card; positions given for a new node are its centre. */
export const NODE_WIDTH = 240;
const HISTORY_LIMIT = 100;
const COALESCE_MS = 1000;
const PASTE_OFFSET = 40;
/** MOVE is the undo key of moves: a burst of them is one step. */
const MOVE = 'move';

interface Snapshot extends Graph {
  revision: number;
}

/** Clip is what copy puts on the clipboard: nodes as the API spells them, and the edges between them. */
export interface Clip {
  edges: { source: string; sourcePort?: string; target: string; targetPort?: string }[];
  nodes: ReturnType<typeof nodeToAPI>[];
}

/** EditorInit is what an editor store starts from. */
export interface EditorInit {
  catalog: Catalog;
  definition: DefinitionFromAPI;
  readOnly?: boolean;
  version: number;
  workflowId: string;
}

/** EditorState is one editor instance: the graph, selection, history and dirty tracking. */
export interface EditorState extends Graph {
  addNode: (type: string, center: XYPosition) => string;
  /** addNote puts an empty sticky note with its top-left corner at a point and returns its React Flow id, or null at the limit. */
  addNote: (at: XYPosition) => string | null;
  /** editing is the node whose title, or the note whose text, is being edited in place. */
  editing: string | null;
  setEditing: (id: string | null) => void;
  /** updateNote changes a note's text or colour. */
  updateNote: (id: string, patch: Partial<NoteData>) => void;
  applyPositions: (positions: ReadonlyMap<string, XYPosition>) => void;
  beginDrag: () => void;
  catalog: Catalog;
  clipboard: Clip | null;
  connect: (c: Connection) => ConnectionCheck;
  copySelection: () => Clip | null;
  deleteEdge: (id: string) => void;
  deleteSelection: () => number;
  /** dragActive is set between beginDrag and the end of that drag (the pointer moving nodes). */
  dragActive: boolean;
  /** endMove closes a burst of arrow-key moves: the next move is a new undo step. */
  endMove: () => void;
  duplicateSelection: () => number;
  future: Snapshot[];
  markSaved: (version: number, revision: number) => void;
  /** moveSelection moves the selected nodes by (dx, dy), as the arrow keys do; a burst is one undo step. */
  moveSelection: (dx: number, dy: number) => number;
  /** nextRevision numbers the next change; each distinct content of the graph has its own revision. */
  nextRevision: number;
  onEdgesChange: (changes: EdgeChange<WorkflowEdge>[]) => void;
  onNodesChange: (changes: NodeChange<CanvasNode>[]) => void;
  past: Snapshot[];
  paste: (at?: XYPosition | null, clip?: Clip | null) => number;
  problems: Problems;
  readOnly: boolean;
  redo: () => void;
  renameNode: (id: string, next: string) => ConnectionCheck;
  replaceDefinition: (definition: DefinitionFromAPI, version: number) => void;
  /** revision identifies the current content; the workflow is dirty while it differs from savedRevision. */
  revision: number;
  savedRevision: number;
  select: (id: string | null) => void;
  selectAll: () => void;
  selectedId: string | null;
  /** setCatalog replaces the node type catalogue (plugins added, replaced or removed); the graph is left as it is. */
  setCatalog: (catalog: Catalog) => void;
  setMeta: (patch: Partial<WorkflowMeta>) => void;
  /** setWorkflowId gives a draft the id the server created it with. */
  setWorkflowId: (id: string) => void;
  /** showInPanel chooses the node the side panel shows, without changing the selection. */
  showInPanel: (id: string | null) => void;
  setProblems: (problems: Problems) => void;
  undo: () => void;
  updateNodeConfig: (id: string, config: Record<string, unknown>) => void;
  updateNodeData: (id: string, patch: Partial<Omit<WorkflowNodeData, 'config' | 'type'>>) => void;
  version: number;
  workflowId: string;
  /** internal: what the last recorded change was, to merge keystrokes into one undo step. */
  lastChange: { at: number; key: string } | null;
}

/** CanvasNode is anything React Flow draws as a node: a workflow node or a sticky note. */
export type CanvasNode = WorkflowNode | NoteNode;

/** isNoteChange tells the changes React Flow makes to notes from those to nodes. */
function isNoteChange(c: NodeChange<CanvasNode>): c is NodeChange<NoteNode> {
  return 'id' in c ? isNoteId(c.id) : c.item.type === 'note';
}

/** EditorStore is the vanilla store of one editor. */
export type EditorStore = StoreApi<EditorState>;

/** isDirty reports whether the graph differs from the last saved version. */
export function isDirty(s: Pick<EditorState, 'revision' | 'savedRevision'>): boolean {
  return s.revision !== s.savedRevision;
}

function snapshot(s: EditorState): Snapshot {
  return { edges: s.edges, meta: s.meta, nodes: s.nodes, notes: s.notes, revision: s.revision };
}

/** selectedNodes returns the nodes that are selected. */
export function selectedNodes(s: Pick<EditorState, 'nodes'>): WorkflowNode[] {
  return s.nodes.filter((n) => n.selected);
}

/** createEditorStore makes the store of one editor instance. */
export function createEditorStore(init: EditorInit): EditorStore {
  const g = graphFromDefinition(init.definition);
  return createStore<EditorState>()((set, get) => {
    /**
     * change applies a content change: it records the state before it for undo (merging changes with
     * the same key made within a second, like keystrokes in one field) and gives the result a new revision.
     */
    const change = (key: string | null, fn: (s: EditorState) => Partial<EditorState>) => {
      const s = get();
      if (s.readOnly) return;
      const now = Date.now();
      const merge = key !== null && s.lastChange?.key === key && now - s.lastChange.at < COALESCE_MS && s.past.length > 0;
      const past = merge ? s.past : [...s.past, snapshot(s)].slice(-HISTORY_LIMIT);
      const patch = fn(s);
      set({
        ...patch,
        future: [],
        lastChange: key === null ? null : { at: now, key },
        nextRevision: s.nextRevision + 1,
        past,
        revision: s.nextRevision,
      });
    };

    const restore = (from: 'future' | 'past') => {
      const s = get();
      const stack = s[from];
      const target = stack[stack.length - 1];
      if (!target) return;
      const current = snapshot(s);
      const rest = stack.slice(0, -1);
      const ids = new Set(target.nodes.map((n) => n.id));
      set({
        edges: target.edges,
        future: from === 'past' ? [...s.future, current] : rest,
        lastChange: null,
        meta: target.meta,
        nodes: target.nodes,
        notes: target.notes,
        past: from === 'past' ? rest : [...s.past, current],
        revision: target.revision,
        selectedId: s.selectedId && ids.has(s.selectedId) ? s.selectedId : null,
      });
    };

    const takenIds = (nodes: readonly WorkflowNode[]) => new Set(nodes.map((n) => n.id));

    const insertClip = (s: EditorState, clip: Clip, offset: XYPosition) => {
      const taken = takenIds(s.nodes);
      const titles = takenTitles(s.catalog, s.nodes);
      const rename = new Map<string, string>();
      const added: WorkflowNode[] = clip.nodes.map((n, i) => {
        const id = uniqueNodeId(n.id, taken);
        taken.add(id);
        rename.set(n.id, id);
        // Copies get titles of their own: "Set fields 2" next to "Set fields".
        const title = typeLabel(s.catalog, { config: {}, name: n.name, type: n.type });
        const name = titles.has(title) ? uniqueTitle(title, titles) : n.name;
        titles.add(name ?? title);
        // A webhook path is unique on the server: a copied webhook trigger gets a new one.
        const config = n.type === WEBHOOK_TYPE ? { ...(n.config ?? {}), path: randomWebhookPath() } : n.config;
        const node = nodeFromAPI({ ...n, config, id, name }, i);
        return { ...node, position: { x: node.position.x + offset.x, y: node.position.y + offset.y }, selected: true };
      });
      const edges: WorkflowEdge[] = [];
      for (const e of clip.edges) {
        const source = rename.get(e.source);
        const target = rename.get(e.target);
        if (source && target) edges.push(edgeFromAPI({ ...e, source, target }));
      }
      return { added, edges };
    };

    /**
     * applyNoteChanges applies React Flow's changes to notes: a move or resize that ends, or a removal,
     * is a content change (a drag was recorded by beginDrag); selection and measuring are not.
     */
    const applyNoteChanges = (changes: NodeChange<NoteNode>[]) => {
      const s = get();
      let content = false;
      let ended = false;
      for (const c of changes) {
        if (c.type === 'remove' || c.type === 'add' || c.type === 'replace') content = true;
        else if (c.type === 'position' && c.position) {
          if (c.dragging === false) ended = true;
          else if (!c.dragging) content = true;
        } else if (c.type === 'dimensions' && c.setAttributes && c.resizing === false) ended = true;
      }
      if (s.readOnly && (content || ended || changes.some((c) => c.type === 'position' || (c.type === 'dimensions' && c.setAttributes)))) {
        set({
          notes: applyNodeChanges(
            changes.filter((c) => c.type === 'select'),
            s.notes,
          ),
        });
        return;
      }
      if (ended) {
        // The drag or resize was recorded when it began (beginDrag).
        set({ lastChange: null, nextRevision: s.nextRevision + 1, notes: applyNodeChanges(changes, s.notes), revision: s.nextRevision });
      } else if (content) {
        const key = changes.find((c) => 'id' in c)?.id ?? '';
        change(`notegeom:${key}`, (st) => ({ notes: applyNodeChanges(changes, st.notes) }));
      } else {
        set({ notes: applyNodeChanges(changes, s.notes) });
      }
    };

    return {
      ...g,
      addNode: (type, center) => {
        const s = get();
        const info = s.catalog.get(type);
        const id = uniqueNodeId(baseIdFor(type), takenIds(s.nodes));
        const data: WorkflowNodeData = { config: defaultConfig(info), type };
        // Default titles are unique: the second "Set fields" is named "Set fields 2".
        const titles = takenTitles(s.catalog, s.nodes);
        const title = typeLabel(s.catalog, data);
        if (titles.has(title)) data.name = uniqueTitle(title, titles);
        // Its size up front lets React Flow show the node in the commit that adds it; without one, the
        // node stays hidden until a ResizeObserver round has measured it. The card keeps its own size
        // meanwhile (index.css), so that the one measurement is the card's.
        const node: WorkflowNode = {
          data,
          id,
          initialHeight: cardHeight(Math.max(inputPorts(info).length, outputPorts(info, data).length)),
          initialWidth: NODE_WIDTH,
          position: { x: center.x - NODE_WIDTH / 2, y: center.y - 30 },
          selected: true,
          type: 'workflow',
        };
        change(null, (st) => ({
          nodes: [...st.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node],
          selectedId: id,
        }));
        return id;
      },
      addNote: (at) => {
        const s = get();
        if (s.readOnly || s.notes.length >= MAX_NOTES) return null;
        const id = NOTE_PREFIX + newNoteId(s.notes);
        const note: NoteNode = {
          data: { text: '' },
          height: NOTE_HEIGHT,
          id,
          position: { x: at.x, y: at.y },
          selected: true,
          type: 'note',
          width: NOTE_WIDTH,
          zIndex: -1,
        };
        change(null, (st) => ({
          editing: id,
          nodes: st.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)),
          notes: [...st.notes.map((n) => (n.selected ? { ...n, selected: false } : n)), note],
          selectedId: null,
        }));
        return id;
      },
      applyPositions: (positions) => {
        change(null, (s) => ({
          nodes: s.nodes.map((n) => {
            const p = positions.get(n.id);
            return p ? { ...n, position: p } : n;
          }),
        }));
      },
      beginDrag: () => {
        const s = get();
        if (s.readOnly) return;
        set({ dragActive: true, future: [], lastChange: null, past: [...s.past, snapshot(s)].slice(-HISTORY_LIMIT) });
      },
      catalog: init.catalog,
      clipboard: null,
      connect: (c) => {
        const s = get();
        const check = checkConnection(s, s.catalog, c);
        if (!check.ok) return check;
        const edge = makeEdge(c.source, c.sourceHandle ?? 'out', c.target, c.targetHandle ?? 'in');
        change(null, (st) => ({ edges: [...st.edges, edge] }));
        return check;
      },
      copySelection: () => {
        const s = get();
        const nodes = selectedNodes(s);
        if (nodes.length === 0) return null;
        const ids = new Set(nodes.map((n) => n.id));
        const clip: Clip = {
          edges: s.edges
            .filter((e) => ids.has(e.source) && ids.has(e.target))
            .map((e) => ({ source: e.source, sourcePort: e.sourceHandle ?? 'out', target: e.target, targetPort: e.targetHandle ?? 'in' })),
          nodes: nodes.map(nodeToAPI),
        };
        set({ clipboard: clip });
        return clip;
      },
      deleteEdge: (id) => {
        change(null, (s) => ({ edges: s.edges.filter((e) => e.id !== id) }));
      },
      deleteSelection: () => {
        const s = get();
        const ids = new Set(selectedNodes(s).map((n) => n.id));
        const edgeIds = new Set(s.edges.filter((e) => e.selected).map((e) => e.id));
        const noteIds = new Set(s.notes.filter((n) => n.selected).map((n) => n.id));
        if (ids.size === 0 && edgeIds.size === 0 && noteIds.size === 0) return 0;
        change(null, (st) => ({
          edges: st.edges.filter((e) => !edgeIds.has(e.id) && !ids.has(e.source) && !ids.has(e.target)),
          nodes: st.nodes.filter((n) => !ids.has(n.id)),
          notes: noteIds.size > 0 ? st.notes.filter((n) => !noteIds.has(n.id)) : st.notes,
          selectedId: st.selectedId && ids.has(st.selectedId) ? null : st.selectedId,
        }));
        return ids.size + edgeIds.size + noteIds.size;
      },
      duplicateSelection: () => {
        const s = get();
        const nodes = selectedNodes(s);
        if (nodes.length === 0) return 0;
        const ids = new Set(nodes.map((n) => n.id));
        const clip: Clip = {
          edges: s.edges
            .filter((e) => ids.has(e.source) && ids.has(e.target))
            .map((e) => ({ source: e.source, sourcePort: e.sourceHandle ?? 'out', target: e.target, targetPort: e.targetHandle ?? 'in' })),
          nodes: nodes.map(nodeToAPI),
        };
        const { added, edges } = insertClip(s, clip, { x: PASTE_OFFSET, y: PASTE_OFFSET });
        change(null, (st) => ({
          edges: [...st.edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...edges],
          nodes: [...st.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...added],
          selectedId: added.length === 1 ? added[0]!.id : null,
        }));
        return added.length;
      },
      dragActive: false,
      edges: g.edges,
      editing: null,
      endMove: () => {
        if (get().lastChange?.key === MOVE) set({ lastChange: null });
      },
      future: [],
      lastChange: null,
      markSaved: (version, revision) => set({ savedRevision: revision, version }),
      meta: g.meta,
      moveSelection: (dx, dy) => {
        const s = get();
        const n = selectedNodes(s).length;
        if (n === 0 || s.readOnly) return 0;
        change(MOVE, (st) => ({ nodes: st.nodes.map((x) => (x.selected ? { ...x, position: { x: x.position.x + dx, y: x.position.y + dy } } : x)) }));
        return n;
      },
      nextRevision: 1,
      nodes: g.nodes,
      notes: g.notes,
      onEdgesChange: (changes) => {
        const s = get();
        const removes = changes.filter((c) => c.type === 'remove');
        if (removes.length > 0) {
          if (s.readOnly) return;
          change(null, (st) => ({ edges: applyEdgeChanges(changes, st.edges) }));
          return;
        }
        set({ edges: applyEdgeChanges(changes, s.edges) });
      },
      onNodesChange: (all) => {
        // Notes share the canvas with nodes: their changes go to the notes.
        const noteChanges = all.filter(isNoteChange);
        if (noteChanges.length > 0) applyNoteChanges(noteChanges);
        const changes = noteChanges.length > 0 ? all.filter((c): c is NodeChange<WorkflowNode> => !isNoteChange(c)) : (all as NodeChange<WorkflowNode>[]);
        if (changes.length === 0) return;
        const s = get();
        let content = false;
        let dragging = false;
        for (const c of changes) {
          if (c.type === 'remove' || c.type === 'add' || c.type === 'replace') content = true;
          if (c.type === 'position') {
            if (c.dragging) dragging = true;
            else if (c.position) content = true;
          }
        }
        if (s.readOnly && (content || dragging)) {
          const safe = changes.filter((c) => c.type === 'select' || c.type === 'dimensions');
          set({ nodes: applyNodeChanges(safe, s.nodes) });
          return;
        }
        if (content) {
          // A drag that ends (dragging: false after beginDrag) was recorded by beginDrag. Other moves
          // (arrow keys on a focused node, which React Flow also reports with dragging: false) are
          // merged into one undo step per burst (endMove closes it on keyup).
          const endOfDrag = s.dragActive && changes.some((c) => c.type === 'position' && c.dragging === false);
          if (endOfDrag) {
            set({ dragActive: false, lastChange: null, nextRevision: s.nextRevision + 1, nodes: applyNodeChanges(changes, s.nodes), revision: s.nextRevision });
          } else {
            change(MOVE, (st) => ({ nodes: applyNodeChanges(changes, st.nodes) }));
          }
          return;
        }
        set({ nodes: applyNodeChanges(changes, s.nodes) });
      },
      past: [],
      paste: (at, clipArg) => {
        const s = get();
        const clip = clipArg ?? s.clipboard;
        if (!clip || clip.nodes.length === 0) return 0;
        let offset = { x: PASTE_OFFSET, y: PASTE_OFFSET };
        if (at) {
          const minX = Math.min(...clip.nodes.map((n) => n.position?.x ?? 0));
          const minY = Math.min(...clip.nodes.map((n) => n.position?.y ?? 0));
          offset = { x: at.x - minX, y: at.y - minY };
        }
        const { added, edges } = insertClip(s, clip, offset);
        change(null, (st) => ({
          edges: [...st.edges, ...edges],
          nodes: [...st.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...added],
          selectedId: added.length === 1 ? added[0]!.id : null,
        }));
        return added.length;
      },
      problems: NO_PROBLEMS,
      readOnly: init.readOnly ?? false,
      redo: () => restore('future'),
      renameNode: (id, next) => {
        const s = get();
        if (id === next) return { ok: true };
        if (!NODE_ID_PATTERN.test(next)) {
          return { ok: false, reason: 'An id starts with a lowercase letter and holds only a–z, 0–9 and _ (at most 63).' };
        }
        if (s.nodes.some((n) => n.id === next)) return { ok: false, reason: `Another node is already called ${next}.` };
        change(null, (st) => ({
          edges: st.edges.map((e) => {
            if (e.source !== id && e.target !== id) return e;
            const source = e.source === id ? next : e.source;
            const target = e.target === id ? next : e.target;
            return { ...e, id: edgeId(source, e.sourceHandle ?? 'out', target, e.targetHandle ?? 'in'), source, target };
          }),
          meta: st.meta.settings.outputNode === id ? { ...st.meta, settings: { ...st.meta.settings, outputNode: next } } : st.meta,
          nodes: st.nodes.map((n) => (n.id === id ? { ...n, id: next } : n)),
          selectedId: st.selectedId === id ? next : st.selectedId,
        }));
        return { ok: true };
      },
      replaceDefinition: (definition, version) => {
        const next = graphFromDefinition(definition);
        const s = get();
        set({
          ...next,
          editing: null,
          future: [],
          lastChange: null,
          nextRevision: s.nextRevision + 1,
          past: [],
          problems: NO_PROBLEMS,
          revision: s.nextRevision,
          savedRevision: s.nextRevision,
          selectedId: null,
          version,
        });
      },
      revision: 0,
      savedRevision: 0,
      select: (id) => {
        set((s) => ({
          nodes: s.nodes.map((n) => {
            const want = n.id === id;
            return Boolean(n.selected) === want ? n : { ...n, selected: want };
          }),
          selectedId: id,
        }));
      },
      selectAll: () => {
        set((s) => ({
          nodes: s.nodes.map((n) => (n.selected ? n : { ...n, selected: true })),
          notes: s.notes.map((n) => (n.selected ? n : { ...n, selected: true })),
          selectedId: null,
        }));
      },
      selectedId: null,
      setCatalog: (catalog) => set({ catalog }),
      setEditing: (id) => set({ editing: id }),
      setMeta: (patch) => {
        change(`meta:${Object.keys(patch).join(',')}`, (s) => ({ meta: { ...s.meta, ...patch } }));
      },
      setProblems: (problems) => set({ problems }),
      setWorkflowId: (workflowId) => set({ workflowId }),
      showInPanel: (id) => set({ selectedId: id }),
      undo: () => restore('past'),
      updateNote: (id, patch) => {
        change(`note:${id}:${Object.keys(patch).join(',')}`, (s) => ({
          notes: s.notes.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...patch } } : n)),
        }));
      },
      updateNodeConfig: (id, config) => {
        // Edges on ports that vanish while a switch case is being renamed are kept: the server's
        // validation points at them, and finishing the rename brings them back.
        change(`config:${id}`, (s) => ({ nodes: s.nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, config } } : n)) }));
      },
      updateNodeData: (id, patch) => {
        change(`data:${id}:${Object.keys(patch).join(',')}`, (s) => {
          const nodes = s.nodes.map((n) => {
            if (n.id !== id) return n;
            const data: WorkflowNodeData = { ...n.data, ...patch };
            for (const k of Object.keys(patch) as (keyof typeof patch)[]) {
              if (patch[k] === undefined || patch[k] === '') delete data[k];
            }
            return { ...n, data };
          });
          return { edges: pruneEdges(s, nodes, id), nodes };
        });
      },
      version: init.version,
      workflowId: init.workflowId,
    };
  });
}

/** pruneEdges drops the edges that leave node id from an output port it no longer has. */
function pruneEdges(s: EditorState, nodes: readonly WorkflowNode[], id: string): WorkflowEdge[] {
  const node = nodes.find((n) => n.id === id);
  if (!node) return s.edges;
  const ports = new Set(outputPorts(s.catalog.get(node.data.type), node.data).map((p) => p.name));
  const kept = s.edges.filter((e) => e.source !== id || ports.has(e.sourceHandle ?? 'out'));
  return kept.length === s.edges.length ? s.edges : kept;
}
