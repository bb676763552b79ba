import { Panel, useReactFlow, useStoreApi, type ReactFlowState } from '@xyflow/react';
import { memo, useEffect, useRef, type PointerEvent, type WheelEvent } from 'react';

import type { WorkflowEdge } from './graphModel';
import type { CanvasNode } from './store';

/** Rect is a rectangle in flow coordinates. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** MiniMapFit maps flow coordinates onto the minimap: screen = (flow - origin) * scale + offset. */
export interface MiniMapFit {
  scale: number;
  origin: { x: number; y: number };
  offset: { x: number; y: number };
}

/** Unmeasured nodes count as a card of this size. */
const DEFAULT_SIZE = { height: 110, width: 240 };
/** The minimap's size in CSS pixels, React Flow's MiniMap's default. */
const SIZE = { height: 150, width: 200 };
const PADDING = 6;

/**
 * fitMiniMap fits the bounds of the nodes and of the view into a minimap of the given size, centred,
 * as React Flow's MiniMap does.
 */
export function fitMiniMap(rects: readonly Rect[], view: Rect, size: { width: number; height: number }): MiniMapFit {
  let minX = view.x;
  let minY = view.y;
  let maxX = view.x + view.width;
  let maxY = view.y + view.height;
  for (const r of rects) {
    minX = Math.min(minX, r.x);
    minY = Math.min(minY, r.y);
    maxX = Math.max(maxX, r.x + r.width);
    maxY = Math.max(maxY, r.y + r.height);
  }
  const w = Math.max(maxX - minX, 1);
  const h = Math.max(maxY - minY, 1);
  const scale = Math.min((size.width - 2 * PADDING) / w, (size.height - 2 * PADDING) / h);
  return {
    offset: { x: (size.width - w * scale) / 2, y: (size.height - h * scale) / 2 },
    origin: { x: minX, y: minY },
    scale,
  };
}

/** toFlow maps a point on the minimap back to flow coordinates. */
export function toFlow(fit: MiniMapFit, p: { x: number; y: number }) {
  return { x: (p.x - fit.offset.x) / fit.scale + fit.origin.x, y: (p.y - fit.offset.y) / fit.scale + fit.origin.y };
}

/** viewRect is the part of the flow the canvas shows. */
function viewRect(s: Pick<ReactFlowState, 'height' | 'transform' | 'width'>): Rect {
  const [tx, ty, zoom] = s.transform;
  return { height: s.height / zoom, width: s.width / zoom, x: -tx / zoom, y: -ty / zoom };
}

function nodeRects(s: ReactFlowState<CanvasNode, WorkflowEdge>): (Rect & { id: string })[] {
  const out: (Rect & { id: string })[] = [];
  for (const n of s.nodeLookup.values()) {
    if (n.hidden) continue;
    const { x, y } = n.internals.positionAbsolute;
    out.push({ height: n.measured.height ?? DEFAULT_SIZE.height, id: n.id, width: n.measured.width ?? DEFAULT_SIZE.width, x, y });
  }
  return out;
}

/**
 * CanvasMiniMap is the minimap of large graphs: one canvas instead of React Flow's MiniMap, whose
 * SVG node per workflow node re-renders on every change of the graph. It draws the nodes (coloured by
 * color), masks what is out of view, pans the view to where it is clicked or dragged, and zooms it
 * with the wheel.
 */
export const CanvasMiniMap = memo(function CanvasMiniMap({ ariaLabel, color }: { ariaLabel: string; color: (id: string) => string }) {
  const flow = useStoreApi<CanvasNode, WorkflowEdge>();
  const { getZoom, setCenter, zoomTo } = useReactFlow();
  const canvas = useRef<HTMLCanvasElement>(null);
  const fit = useRef<MiniMapFit | null>(null);

  useEffect(() => {
    let frame = 0;
    const paint = () => {
      frame = 0;
      const c = canvas.current;
      const ctx = c?.getContext('2d');
      if (!c || !ctx) return;
      const s = flow.getState();
      const dpr = window.devicePixelRatio || 1;
      if (c.width !== SIZE.width * dpr) {
        c.width = SIZE.width * dpr;
        c.height = SIZE.height * dpr;
      }
      const rects = nodeRects(s);
      const view = viewRect(s);
      const f = fitMiniMap(rects, view, SIZE);
      fit.current = f;
      const style = getComputedStyle(c);
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, SIZE.width, SIZE.height);
      ctx.save();
      ctx.translate(f.offset.x, f.offset.y);
      ctx.scale(f.scale, f.scale);
      ctx.translate(-f.origin.x, -f.origin.y);
      // Nodes, batched by colour.
      const byColor = new Map<string, Rect[]>();
      for (const r of rects) {
        const k = color(r.id);
        const list = byColor.get(k);
        if (list) list.push(r);
        else byColor.set(k, [r]);
      }
      for (const [fill, list] of byColor) {
        ctx.beginPath();
        for (const r of list) ctx.rect(r.x, r.y, r.width, r.height);
        ctx.fillStyle = fill;
        ctx.fill();
      }
      ctx.restore();
      // What is out of view is masked.
      const vx = (view.x - f.origin.x) * f.scale + f.offset.x;
      const vy = (view.y - f.origin.y) * f.scale + f.offset.y;
      ctx.beginPath();
      ctx.rect(0, 0, SIZE.width, SIZE.height);
      ctx.rect(vx, vy, view.width * f.scale, view.height * f.scale);
      ctx.fillStyle = style.getPropertyValue('--xy-minimap-mask-background-color-default').trim() || 'rgb(240 240 240 / 0.6)';
      ctx.fill('evenodd');
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(paint);
    };
    schedule();
    const unsubscribe = flow.subscribe((s, prev) => {
      if (s.nodes !== prev.nodes || s.transform !== prev.transform || s.width !== prev.width || s.height !== prev.height || s.nodeLookup !== prev.nodeLookup)
        schedule();
    });
    return () => {
      unsubscribe();
      cancelAnimationFrame(frame);
    };
  }, [flow, color]);

  const panTo = (e: PointerEvent<HTMLCanvasElement>) => {
    const f = fit.current;
    if (!f) return;
    const box = e.currentTarget.getBoundingClientRect();
    const p = toFlow(f, { x: e.clientX - box.left, y: e.clientY - box.top });
    void setCenter(p.x, p.y, { zoom: getZoom() });
  };
  const onWheel = (e: WheelEvent<HTMLCanvasElement>) => {
    void zoomTo(getZoom() * (e.deltaY < 0 ? 1.2 : 1 / 1.2));
  };

  return (
    <Panel className="react-flow__minimap" position="bottom-right">
      <canvas
        ref={canvas}
        aria-label={ariaLabel}
        data-testid="canvas-minimap"
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          panTo(e);
        }}
        onPointerMove={(e) => {
          if (e.currentTarget.hasPointerCapture(e.pointerId)) panTo(e);
        }}
        onWheel={onWheel}
        role="img"
        style={{ cursor: 'grab', display: 'block', height: SIZE.height, width: SIZE.width }}
      />
    </Panel>
  );
});
