import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  useStore,
  type Connection,
  type Edge,
  type FinalConnectionState,
  type IsValidConnection,
  type Node,
  type OnSelectionChangeParams,
} from '@xyflow/react';
import clsx from 'clsx';
import { memo, useCallback, useContext, useMemo, type DragEvent, type ReactNode } from 'react';

import { useTheme } from '@lib/theme';
import { toast } from '@lib/toast';

import { checkConnection } from './connection';
import { RunOverlayContext, useEditorApi, useEditorStore } from './EditorContext';
import type { WorkflowEdge, WorkflowNode } from './graphModel';
import { WorkflowNodeCard } from './nodes/WorkflowNodeCard';

/** PALETTE_MIME is the drag-and-drop type the palette sets: its value is a node type name. */
export const PALETTE_MIME = 'application/x-cm-node-type';

const nodeTypes = { workflow: WorkflowNodeCard };
const fitViewOptions = { maxZoom: 1.2, padding: 0.2 };
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
/** Graphs larger than this render only the nodes and edges in view. */
export const VISIBLE_ONLY_ABOVE = 120;

const MINIMAP_COLORS: Record<string, string> = {
  failed: '#ef4444',
  running: '#0ea5e9',
  skipped: '#d4d4d8',
  succeeded: '#10b981',
  waiting: '#f59e0b',
};

/** CanvasProps configure the canvas; readOnly shows a graph without letting it be edited. */
export interface CanvasProps {
  children?: ReactNode;
  /** onPointerMove reports where the pointer is over the canvas, on screen and in flow coordinates. */
  onPointerMove?: (p: { flow: { x: number; y: number }; screen: { x: number; y: number } }) => void;
  readOnly?: boolean;
}

/** Canvas is the React Flow surface of the editor and of the execution page. */
export const Canvas = memo(function Canvas({ children, onPointerMove, readOnly = false }: CanvasProps) {
  const store = useEditorApi();
  const nodes = useEditorStore((s) => s.nodes);
  const rawEdges = useEditorStore((s) => s.edges);
  const edgeProblems = useEditorStore((s) => s.problems.byEdge);
  const onNodesChange = useEditorStore((s) => s.onNodesChange);
  const onEdgesChange = useEditorStore((s) => s.onEdgesChange);
  const overlay = useContext(RunOverlayContext);
  const { screenToFlowPosition } = useReactFlow<WorkflowNode, WorkflowEdge>();
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
    (_: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (state.isValid || !state.toHandle || !state.fromHandle || !state.fromNode || !state.toNode) return;
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
    [store],
  );
  const onSelectionChange = useCallback(
    ({ nodes: sel }: OnSelectionChangeParams) => {
      const s = store.getState();
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
  // On large graphs the minimap is hidden while the view moves: it would be redrawn on every frame.
  const big = nodes.length > VISIBLE_ONLY_ABOVE;
  const onMoveStart = useCallback((e: MouseEvent | TouchEvent | null) => {
    if (e) (e.target as Element | null)?.closest('.react-flow')?.classList.add('cm-moving');
  }, []);
  const onMoveEnd = useCallback(() => {
    document.querySelectorAll('.react-flow.cm-moving').forEach((el) => el.classList.remove('cm-moving'));
  }, []);
  const minimapColor = useCallback((n: Node) => (overlay?.get(n.id) ? MINIMAP_COLORS[overlay.get(n.id)!.status] ?? '#a1a1aa' : '#a1a1aa'), [overlay]);

  return (
    <ReactFlow<WorkflowNode, WorkflowEdge>
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
      onEdgesChange={onEdgesChange}
      onMouseMove={onPointerMove ? onMouseMove : undefined}
      onMoveEnd={big ? onMoveEnd : undefined}
      onMoveStart={big ? onMoveStart : undefined}
      onNodeDragStart={onNodeDragStart}
      onSelectionDragStart={onNodeDragStart}
      onNodesChange={onNodesChange}
      onSelectionChange={onSelectionChange}
      onlyRenderVisibleElements={nodes.length > VISIBLE_ONLY_ABOVE}
      proOptions={proOptions}
    >
      <Background gap={20} size={1.2} variant={BackgroundVariant.Dots} />
      <MiniMap ariaLabel="Mini map" nodeColor={minimapColor} pannable position="bottom-right" zoomable />
      <Controls aria-label="Zoom controls" position="bottom-left" showInteractive={false} />
      {children}
    </ReactFlow>
  );
});
