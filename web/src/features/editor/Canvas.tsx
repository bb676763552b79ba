import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  useStore,
  useStoreApi,
  type Connection,
  type Edge,
  type FinalConnectionState,
  type IsValidConnection,
  type Node,
  type OnSelectionChangeParams,
  type Viewport,
} from '@xyflow/react';
import clsx from 'clsx';
import { memo, useCallback, useContext, useEffect, useLayoutEffect, useMemo, useRef, useState, type DragEvent, type ReactNode } from 'react';

import { useTheme } from '@lib/theme';
import { toast } from '@lib/toast';

import { CanvasMiniMap } from './CanvasMiniMap';
import { checkConnection } from './connection';
import { RunOverlayContext, useEditorApi, useEditorStore } from './EditorContext';
import { inputPorts, isNoteId, outputPorts, typeLabel, type WorkflowEdge } from './graphModel';
import { buildMotionScene, MotionSession, PALETTES, type MotionScene, type NodeLook } from './motion';
import { NoteCard } from './nodes/NoteCard';
import { WorkflowNodeCard } from './nodes/WorkflowNodeCard';
import { NODE_WIDTH, type CanvasNode } from './store';

/** PALETTE_MIME is the drag-and-drop type the palette sets: its value is a node type name. */
export const PALETTE_MIME = 'application/x-cm-node-type';

const nodeTypes = { note: NoteCard, workflow: WorkflowNodeCard };
/**
 * SAFE_INSETS are the edges of the canvas that overlays cover, in pixels: the run bar at the top, the
 * minimap and zoom controls at the bottom. Zoom to fit leaves them free and a selected node is brought
 * out from under them, so that every port stays reachable.
 */
export const SAFE_INSETS = { bottom: 176, left: 24, right: 24, top: 64 } as const;
/** FIT_PADDING is the padding of every zoom to fit: SAFE_INSETS. */
export const FIT_PADDING = {
  bottom: `${SAFE_INSETS.bottom}px`,
  left: `${SAFE_INSETS.left}px`,
  right: `${SAFE_INSETS.right}px`,
  top: `${SAFE_INSETS.top}px`,
} as const;
const fitViewOptions = { maxZoom: 1.2, padding: FIT_PADDING };
const proOptions = { hideAttribution: true };
const defaultEdgeOptions = { type: 'smoothstep' as const };

/**
 * On large graphs, below LOD_ZOOM the canvas draws less: node details (ids, port labels) and the
 * dotted background are not painted, as they are unreadable there anyway. It keeps them fluid to pan
 * and zoom.
 */
export const LOD_ZOOM = 0.45;
/** Below LOD_FAR_ZOOM titles and icons are not painted either: nodes are coloured cards. */
export const LOD_FAR_ZOOM = 0.25;
/**
 * Graphs larger than this are big: zoomed in (LOD_ZOOM and up) they render only the nodes and edges in
 * view, and zoomed out the user's pans and zooms move a drawing of them (motion.ts).
 */
export const VISIBLE_ONLY_ABOVE = 120;

const MINIMAP_COLORS: Record<string, string> = {
  failed: '#ef4444',
  running: '#0ea5e9',
  skipped: '#d4d4d8',
  succeeded: '#10b981',
  waiting: '#f59e0b',
};

/** CanvasProps configure the canvas; readOnly shows a graph without letting it be edited. */
/** MenuTarget is what a context menu was opened on. */
export type MenuTarget = { kind: 'edge'; id: string } | { kind: 'node'; id: string } | { kind: 'note'; id: string } | { kind: 'pane' };

/** ConnectionDrop is a connection dragged from a port and dropped on empty canvas. */
export interface ConnectionDrop {
  handleId: string | null;
  handleType: 'source' | 'target';
  nodeId: string;
}

/** CanvasPoint is a point both on screen and in flow coordinates. */
export interface CanvasPoint {
  flow: { x: number; y: number };
  screen: { x: number; y: number };
}

export interface CanvasProps {
  children?: ReactNode;
  /** onConnectionDrop is told of a connection dropped on empty canvas (to add a node there). */
  onConnectionDrop?: (drop: ConnectionDrop, at: CanvasPoint) => void;
  /** onMenu opens the context menu for what was right-clicked. */
  onMenu?: (target: MenuTarget, at: CanvasPoint) => void;
  /** onPointerMove reports where the pointer is over the canvas, on screen and in flow coordinates. */
  onPointerMove?: (p: { flow: { x: number; y: number }; screen: { x: number; y: number } }) => void;
  readOnly?: boolean;
}

/** Canvas is the React Flow surface of the editor and of the execution page. */
export const Canvas = memo(function Canvas({ children, onConnectionDrop, onMenu, onPointerMove, readOnly = false }: CanvasProps) {
  const store = useEditorApi();
  const workflowNodes = useEditorStore((s) => s.nodes);
  const notes = useEditorStore((s) => s.notes);
  // Notes are drawn first, under the nodes.
  const nodes = useMemo<CanvasNode[]>(() => (notes.length === 0 ? workflowNodes : [...notes, ...workflowNodes]), [notes, workflowNodes]);
  const rawEdges = useEditorStore((s) => s.edges);
  const edgeProblems = useEditorStore((s) => s.problems.byEdge);
  const onNodesChange = useEditorStore((s) => s.onNodesChange);
  const onEdgesChange = useEditorStore((s) => s.onEdgesChange);
  const overlay = useContext(RunOverlayContext);
  const { screenToFlowPosition } = useReactFlow<CanvasNode, WorkflowEdge>();
  const { resolved } = useTheme();
  const lod = useStore((s) => (s.transform[2] < LOD_FAR_ZOOM ? 'cm-lod cm-lod-far' : s.transform[2] < LOD_ZOOM ? 'cm-lod' : ''));

  // Edges are decorated, not changed: problems in red, the branches a run took in green.
  const edges = useMemo<Edge[]>(() => {
    if (edgeProblems.size === 0 && !overlay) return rawEdges;
    return rawEdges.map((e) => {
      if (edgeProblems.has(e.id)) return { ...e, ariaLabel: edgeProblems.get(e.id)!.join('; '), className: 'cm-edge-error' };
      const run = overlay?.get(e.source);
      if (run && run.status === 'succeeded' && (run.latest.port ?? 'out') === (e.sourceHandle ?? 'out') && overlay?.has(e.target)) {
        return { ...e, animated: overlay.get(e.target)?.status === 'running', className: 'cm-edge-taken' };
      }
      return e;
    });
  }, [rawEdges, edgeProblems, overlay]);

  const isValidConnection = useCallback<IsValidConnection>(
    (c) => {
      const s = store.getState();
      return checkConnection(s, s.catalog, c).ok;
    },
    [store],
  );
  const onConnect = useCallback(
    (c: Connection) => {
      const r = store.getState().connect(c);
      if (!r.ok) toast.error(r.reason, { title: 'Connection refused' });
    },
    [store],
  );
  const onConnectEnd = useCallback(
    (event: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid || !state.fromHandle || !state.fromNode) return;
      if (!state.toHandle) {
        // Dropped on a node's body rather than on a port: connect to its first port of the other
        // kind, or say why not (a loop, a trigger…). Dropped elsewhere: nothing was meant.
        const el = event.target instanceof Element ? event.target.closest('.react-flow__node') : null;
        const other = el?.getAttribute('data-id');
        if (!other && onConnectionDrop) {
          // Dropped on empty canvas: offer the node picker there.
          const p = 'changedTouches' in event ? event.changedTouches[0] : event;
          if (!p) return;
          const screen = { x: p.clientX, y: p.clientY };
          const under = document.elementFromPoint(screen.x, screen.y);
          if (!under?.closest('.react-flow') || under.closest('.react-flow__node, .react-flow__panel, .react-flow__controls, .react-flow__minimap')) return;
          onConnectionDrop(
            { handleId: state.fromHandle.id ?? null, handleType: state.fromHandle.type, nodeId: state.fromNode.id },
            { flow: screenToFlowPosition(screen), screen },
          );
          return;
        }
        if (!other || other === state.fromNode.id) return;
        const s = store.getState();
        const target = s.nodes.find((n) => n.id === other);
        if (!target) return;
        const fromSource = state.fromHandle.type === 'source';
        const port = fromSource ? inputPorts(s.catalog.get(target.data.type))[0] : outputPorts(s.catalog.get(target.data.type), target.data)[0];
        if (!port) {
          toast.error(fromSource ? `${other} is a trigger: triggers start runs and take no input.` : `${other} has no output.`, {
            title: 'Connection refused',
          });
          return;
        }
        const c = fromSource
          ? { source: state.fromNode.id, sourceHandle: state.fromHandle.id ?? null, target: other, targetHandle: port.name }
          : { source: other, sourceHandle: port.name, target: state.fromNode.id, targetHandle: state.fromHandle.id ?? null };
        const r = s.connect(c);
        if (!r.ok) toast.error(r.reason, { title: 'Connection refused' });
        return;
      }
      if (!state.toNode) return;
      const fromSource = state.fromHandle.type === 'source';
      const c = fromSource
        ? { source: state.fromNode.id, sourceHandle: state.fromHandle.id ?? null, target: state.toNode.id, targetHandle: state.toHandle.id ?? null }
        : { source: state.toNode.id, sourceHandle: state.toHandle.id ?? null, target: state.fromNode.id, targetHandle: state.fromHandle.id ?? null };
      if (state.fromHandle.type === state.toHandle.type) {
        toast.error(`Connect an output to an input: ${state.fromHandle.type === 'source' ? 'both ends are outputs' : 'both ends are inputs'}.`, {
          title: 'Connection refused',
        });
        return;
      }
      const s = store.getState();
      const r = checkConnection(s, s.catalog, c);
      if (!r.ok) toast.error(r.reason, { title: 'Connection refused' });
    },
    [store, onConnectionDrop, screenToFlowPosition],
  );
  const menuAt = useCallback(
    (e: MouseEvent | React.MouseEvent, target: MenuTarget) => {
      if (!onMenu) return;
      e.preventDefault();
      const screen = { x: e.clientX, y: e.clientY };
      onMenu(target, { flow: screenToFlowPosition(screen), screen });
    },
    [onMenu, screenToFlowPosition],
  );
  const onPaneContextMenu = useCallback((e: MouseEvent | React.MouseEvent) => menuAt(e, { kind: 'pane' }), [menuAt]);
  const onNodeContextMenu = useCallback(
    (e: React.MouseEvent, n: CanvasNode) => {
      if (!n.selected) store.getState().select(isNoteId(n.id) ? null : n.id);
      menuAt(e, isNoteId(n.id) ? { id: n.id, kind: 'note' } : { id: n.id, kind: 'node' });
    },
    [menuAt, store],
  );
  const onEdgeContextMenu = useCallback((e: React.MouseEvent, edge: Edge) => menuAt(e, { id: edge.id, kind: 'edge' }), [menuAt]);
  const onSelectionChange = useCallback(
    ({ nodes: all }: OnSelectionChangeParams) => {
      const s = store.getState();
      const sel = all.filter((n) => !isNoteId(n.id));
      if (sel.length === 1) {
        if (s.selectedId !== sel[0]!.id) s.showInPanel(sel[0]!.id);
      } else if (sel.length === 0 && s.selectedId !== null) {
        s.showInPanel(null);
      }
    },
    [store],
  );
  const onNodeDragStart = useCallback(() => store.getState().beginDrag(), [store]);
  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(PALETTE_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    }
  }, []);
  const onDrop = useCallback(
    (e: DragEvent) => {
      const type = e.dataTransfer.getData(PALETTE_MIME);
      if (!type) return;
      e.preventDefault();
      store.getState().addNode(type, screenToFlowPosition({ x: e.clientX, y: e.clientY }));
    },
    [store, screenToFlowPosition],
  );
  const onMouseMove = useCallback(
    (e: React.MouseEvent) => {
      const screen = { x: e.clientX, y: e.clientY };
      onPointerMove?.({ flow: screenToFlowPosition(screen), screen });
    },
    [onPointerMove, screenToFlowPosition],
  );
  // On large graphs, while the user moves the view, the graph is drawn on a <canvas> and the DOM
  // rests under it (motion.ts); the minimap is hidden too: it would be redrawn on every frame.
  const big = workflowNodes.length > VISIBLE_ONLY_ABOVE;
  const flow = useStoreApi<CanvasNode, WorkflowEdge>();
  const buildScene = useCallback((): MotionScene => {
    const s = store.getState();
    const byId = new Map<string, CanvasNode>();
    for (const n of s.nodes) byId.set(n.id, n);
    for (const n of s.notes) byId.set(n.id, n);
    const look = (id: string): NodeLook => {
      const n = byId.get(id);
      if (!n) return { ins: [], outs: [] };
      if (n.type === 'note') return { ins: [], note: n.data.color ?? 'yellow', outs: [] };
      const type = s.catalog.get(n.data.type);
      return {
        category: type?.category,
        ins: inputPorts(type).map((p) => p.name),
        outs: outputPorts(type, n.data).map((p) => p.name),
        problem: s.problems.byNode.has(id),
        status: overlay?.get(id)?.status,
        title: typeLabel(s.catalog, n.data),
      };
    };
    const rf = flow.getState();
    return buildMotionScene(rf.nodeLookup.values(), rf.edges, look, PALETTES[resolved]);
  }, [flow, overlay, resolved, store]);
  const [motion] = useState(() => new MotionSession(LOD_ZOOM));
  useLayoutEffect(() => motion.setScene(buildScene), [motion, buildScene]);
  // Zoomed in, only the nodes in view are rendered; zoomed out, all of them, so that panning does
  // not mount and unmount cards. The choice changes only while the view rests.
  const [moving, setMoving] = useState(false);
  useEffect(() => motion.listen(setMoving), [motion]);
  const zoomedIn = useStore((s) => s.transform[2] >= LOD_ZOOM);
  const [visibleOnly, setVisibleOnly] = useState(zoomedIn);
  if (!moving && visibleOnly !== zoomedIn) setVisibleOnly(zoomedIn);
  const motionCanvas = useCallback((c: HTMLCanvasElement | null) => motion.attach(c), [motion]);
  useEffect(() => () => motion.finish(), [motion]);
  const onMoveStart = useCallback(
    (e: MouseEvent | TouchEvent | null, viewport: Viewport) => {
      // Only the user's gestures: a programmatic move (zoom to fit, reveal) animates the DOM.
      const el = e && (e.target as Element | null)?.closest<HTMLElement>('.react-flow');
      if (el) motion.begin(el, viewport);
    },
    [motion],
  );
  const onMove = useCallback((_: unknown, viewport: Viewport) => motion.move(viewport), [motion]);
  const onMoveEnd = useCallback(() => motion.end(), [motion]);
  const minimapNodeColor = useCallback((id: string) => (overlay?.get(id) ? (MINIMAP_COLORS[overlay.get(id)!.status] ?? '#a1a1aa') : '#a1a1aa'), [overlay]);
  const minimapColor = useCallback((n: Node) => minimapNodeColor(n.id), [minimapNodeColor]);

  return (
    <ReactFlow<CanvasNode, WorkflowEdge>
      aria-label="Workflow canvas"
      className={clsx(big && 'cm-big', big && lod)}
      colorMode={resolved}
      defaultEdgeOptions={defaultEdgeOptions}
      deleteKeyCode={null}
      edges={edges}
      elementsSelectable
      fitView
      fitViewOptions={fitViewOptions}
      isValidConnection={isValidConnection}
      maxZoom={2}
      minZoom={0.1}
      nodeTypes={nodeTypes}
      nodes={nodes}
      nodesConnectable={!readOnly}
      nodesDraggable={!readOnly}
      onConnect={onConnect}
      onConnectEnd={onConnectEnd}
      onDragOver={onDragOver}
      onDrop={onDrop}
      onEdgeContextMenu={onMenu ? onEdgeContextMenu : undefined}
      onNodeContextMenu={onMenu ? onNodeContextMenu : undefined}
      onPaneContextMenu={onMenu ? onPaneContextMenu : undefined}
      onEdgesChange={onEdgesChange}
      onMouseMove={onPointerMove ? onMouseMove : undefined}
      onMove={big ? onMove : undefined}
      onMoveEnd={big ? onMoveEnd : undefined}
      onMoveStart={big ? onMoveStart : undefined}
      onNodeDragStart={onNodeDragStart}
      onSelectionDragStart={onNodeDragStart}
      onNodesChange={onNodesChange}
      onSelectionChange={onSelectionChange}
      onlyRenderVisibleElements={big && visibleOnly}
      proOptions={proOptions}
    >
      <Background gap={20} size={1.2} variant={BackgroundVariant.Dots} />
      {big ? (
        <CanvasMiniMap ariaLabel="Mini map" color={minimapNodeColor} />
      ) : (
        <MiniMap ariaLabel="Mini map" nodeColor={minimapColor} pannable position="bottom-right" zoomable />
      )}
      <Controls aria-label="Zoom controls" position="bottom-left" showInteractive={false} />
      {big && <canvas ref={motionCanvas} aria-hidden className="cm-motion" />}
      <RevealSelected />
      {children}
    </ReactFlow>
  );
});

/**
 * isInSafeArea reports whether a rectangle on screen (relative to the canvas) lies within the part of
 * a canvas of the given size that no overlay covers.
 */
export function isInSafeArea(r: { bottom: number; left: number; right: number; top: number }, width: number, height: number): boolean {
  return r.left >= SAFE_INSETS.left && r.top >= SAFE_INSETS.top && r.right <= width - SAFE_INSETS.right && r.bottom <= height - SAFE_INSETS.bottom;
}

/**
 * RevealSelected scrolls the node the panel shows into view when it is selected from elsewhere (the
 * problems list, a search, the timeline) or lies under the minimap or off screen: the view pans, at
 * the same zoom, to centre it in the uncovered part of the canvas.
 */
function RevealSelected() {
  const selectedId = useEditorStore((s) => s.selectedId);
  const { getInternalNode, getViewport, setCenter } = useReactFlow<CanvasNode, WorkflowEdge>();
  const size = useStore((s) => ({ height: s.height, width: s.width }), shallowSize);
  // A node the user just pressed on is where they want it: the view does not move under the pointer.
  // Only that node: the last press is remembered with its node (or none), so a node selected from
  // elsewhere right after a press on another one (the problems list, a search) is still revealed.
  const pressed = useRef<{ at: number; id: string | null }>({ at: 0, id: null });
  useEffect(() => {
    const onDown = (e: PointerEvent) => {
      const hit = e.target instanceof Element ? e.target.closest('.react-flow__node') : null;
      pressed.current = { at: performance.now(), id: hit?.getAttribute('data-id') ?? null };
    };
    document.addEventListener('pointerdown', onDown, true);
    return () => document.removeEventListener('pointerdown', onDown, true);
  }, []);
  useEffect(() => {
    if (!selectedId || size.width === 0) return;
    if (pressed.current.id === selectedId && performance.now() - pressed.current.at < PRESS_MS) return;
    const n = getInternalNode(selectedId);
    if (!n) return;
    const { x, y, zoom } = getViewport();
    const w = n.measured.width ?? NODE_WIDTH;
    const h = n.measured.height ?? 80;
    const left = n.internals.positionAbsolute.x * zoom + x;
    const top = n.internals.positionAbsolute.y * zoom + y;
    if (isInSafeArea({ bottom: top + h * zoom, left, right: left + w * zoom, top }, size.width, size.height)) return;
    // The centre of the uncovered area lies (bottom - top) / 2 pixels above the canvas's centre.
    const shift = (SAFE_INSETS.bottom - SAFE_INSETS.top) / 2 / zoom;
    void setCenter(n.internals.positionAbsolute.x + w / 2, n.internals.positionAbsolute.y + h / 2 + shift, { duration: 250, zoom });
    // Only a new selection moves the view; moving around afterwards is the user's.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selectedId]);
  return null;
}

/** PRESS_MS is how long after a press on a node the selection of that node counts as made on the canvas. */
const PRESS_MS = 1000;

function shallowSize(a: { height: number; width: number }, b: { height: number; width: number }): boolean {
  return a.height === b.height && a.width === b.width;
}
