import { getSmoothStepPath, Position, type InternalNode, type Viewport } from '@xyflow/react';

/**
 * While the user pans or zooms a large graph, the canvas is drawn on a <canvas> instead of in the
 * DOM: the 500 cards and edges of a big workflow cost Chromium more per frame (paint, layerize, hit
 * testing) than a frame allows on a modest machine, while one canvas redraw costs a millisecond or
 * two. The DOM is hidden (content-visibility, so it keeps its layout) for the length of the gesture
 * and comes back, untouched, when the view rests. See ADR 0029.
 */

/** MotionBox is a node's card as the motion view draws it, in flow coordinates. */
export interface MotionBox {
  x: number;
  y: number;
  w: number;
  h: number;
  /** fill and stroke are CSS colours: the card's background and its border. */
  fill: string;
  stroke: string;
  /** tile is the colour of the type's icon tile, drawn at the top left; none for notes. */
  tile?: string;
  /** title is drawn when the zoom leaves it readable. */
  title?: string;
  /** ports are the node's handles, drawn as small circles. */
  ports?: Point[];
}

/** MotionScene is everything the motion view draws: boxes over edges, in flow coordinates. */
export interface MotionScene {
  boxes: MotionBox[];
  /** edges are SVG path data, the same smooth-step paths the DOM draws. */
  edges: string[];
  edgeColor: string;
  portFill: string;
  portStroke: string;
}

/** MotionPalette holds the colours of the current theme. */
export interface MotionPalette {
  card: string;
  border: string;
  edge: string;
  port: [fill: string, stroke: string];
  selected: string;
  problem: string;
  status: Readonly<Record<string, string>>;
  tiles: Readonly<Record<string, string>>;
  tile: string;
  notes: Readonly<Record<string, [fill: string, stroke: string]>>;
}

/** PALETTES are the motion view's colours: the Tailwind colours the cards use, per theme. */
export const PALETTES: Readonly<Record<'dark' | 'light', MotionPalette>> = {
  dark: {
    border: '#3f3f46',
    card: '#18181b',
    edge: '#3e3e3e',
    notes: {
      blue: ['#082f49', '#075985'],
      gray: ['#27272a', '#52525b'],
      green: ['#022c22', '#065f46'],
      pink: ['#500724', '#9d174d'],
      purple: ['#2e1065', '#5b21b6'],
      yellow: ['#451a03', '#92400e'],
    },
    port: ['#18181b', '#a1a1aa'],
    problem: '#ef4444',
    selected: '#6366f1',
    status: { canceled: '#a1a1aa', failed: '#ef4444', running: '#0ea5e9', skipped: '#3f3f46', succeeded: '#10b981', waiting: '#f59e0b' },
    tile: '#27272a',
    tiles: { Code: '#4c0519', Data: '#082f49', Databases: '#083344', Files: '#1a2e05', Flow: '#2e1065', HTTP: '#022c22', Triggers: '#451a03' },
  },
  light: {
    border: '#e4e4e7',
    card: '#ffffff',
    edge: '#b1b1b7',
    notes: {
      blue: ['#e0f2fe', '#7dd3fc'],
      gray: ['#f4f4f5', '#d4d4d8'],
      green: ['#d1fae5', '#6ee7b7'],
      pink: ['#fce7f3', '#f9a8d4'],
      purple: ['#ede9fe', '#c4b5fd'],
      yellow: ['#fef3c7', '#fcd34d'],
    },
    port: ['#ffffff', '#71717a'],
    problem: '#ef4444',
    selected: '#6366f1',
    status: { canceled: '#a1a1aa', failed: '#ef4444', running: '#0ea5e9', skipped: '#d4d4d8', succeeded: '#10b981', waiting: '#f59e0b' },
    tile: '#f4f4f5',
    tiles: { Code: '#ffe4e6', Data: '#e0f2fe', Databases: '#cffafe', Files: '#ecfccb', Flow: '#ede9fe', HTTP: '#d1fae5', Triggers: '#fef3c7' },
  },
};

/** NodeLook is what the scene needs to know of a node beyond its geometry. */
export interface NodeLook {
  /** note is the colour of a sticky note; undefined for a workflow node. */
  note?: string;
  category?: string;
  title?: string;
  status?: string;
  problem?: boolean;
  /** ins and outs are the node's port names, top to bottom, for nodes not measured yet. */
  ins: readonly string[];
  outs: readonly string[];
}

/** Card geometry of a node that has not been measured (never rendered): see WorkflowNodeCard. */
const CARD = { handleOut: 8.5, header: 53, portRow: 22, portTop: 6, width: 240 } as const;

/**
 * cardHeight estimates the height of a node card with this many rows of ports (the longer of its
 * inputs and outputs, at least one) before React Flow has measured it: the header and the ports, not
 * the lines a card may add below them.
 */
export function cardHeight(rows: number): number {
  return CARD.header + Math.max(1, rows) * CARD.portRow + 12 + 4;
}

/** PORT_RADIUS is a handle's radius (index.css: 15 px handles). */
const PORT_RADIUS = 7.5;

/** Point is a point in flow coordinates. */
export type Point = { x: number; y: number };

/**
 * buildMotionScene lays out what the motion view draws, from React Flow's internal nodes (measured
 * size and handle positions where a node has been rendered, the card's layout where it has not).
 */
export function buildMotionScene(
  nodes: Iterable<InternalNode>,
  edges: readonly { source: string; target: string; sourceHandle?: string | null; targetHandle?: string | null }[],
  look: (id: string) => NodeLook,
  palette: MotionPalette,
): MotionScene {
  const boxes: MotionBox[] = [];
  const handles = new Map<string, { ins: Map<string, Point>; outs: Map<string, Point>; first: { in?: Point; out?: Point } }>();
  for (const n of nodes) {
    if (n.hidden) continue;
    const l = look(n.id);
    const { x, y } = n.internals.positionAbsolute;
    const w = n.measured.width ?? n.width ?? CARD.width;
    const h = n.measured.height ?? n.height ?? cardHeight(Math.max(l.ins.length, l.outs.length));
    if (l.note !== undefined) {
      const [fill, stroke] = palette.notes[l.note] ?? palette.notes.yellow!;
      boxes.push({ fill, h, stroke: n.selected ? palette.selected : stroke, w, x, y });
      continue;
    }
    const stroke = n.selected ? palette.selected : l.problem ? palette.problem : ((l.status && palette.status[l.status]) ?? palette.border);
    const box: MotionBox = { fill: palette.card, h, stroke, tile: palette.tiles[l.category ?? ''] ?? palette.tile, title: l.title, w, x, y };
    boxes.push(box);

    // Edges end on a handle's outer side, as React Flow draws them; a port is drawn at its centre.
    const ins = new Map<string, Point>();
    const outs = new Map<string, Point>();
    const ports: Point[] = [];
    const bounds = n.internals.handleBounds;
    if (bounds?.target || bounds?.source) {
      for (const b of bounds.target ?? []) ins.set(b.id ?? '', { x: x + b.x, y: y + b.y + b.height / 2 });
      for (const b of bounds.source ?? []) outs.set(b.id ?? '', { x: x + b.x + b.width, y: y + b.y + b.height / 2 });
      for (const b of [...(bounds.target ?? []), ...(bounds.source ?? [])]) ports.push({ x: x + b.x + b.width / 2, y: y + b.y + b.height / 2 });
    } else {
      const row = (i: number) => y + CARD.header + CARD.portTop + i * CARD.portRow + CARD.portRow / 2;
      l.ins.forEach((p, i) => {
        ins.set(p, { x: x - CARD.handleOut, y: row(i) });
        ports.push({ x: x - CARD.handleOut + PORT_RADIUS, y: row(i) });
      });
      l.outs.forEach((p, i) => {
        outs.set(p, { x: x + w + CARD.handleOut, y: row(i) });
        ports.push({ x: x + w + CARD.handleOut - PORT_RADIUS, y: row(i) });
      });
    }
    box.ports = ports;
    handles.set(n.id, { first: { in: ins.values().next().value, out: outs.values().next().value }, ins, outs });
  }
  const paths: string[] = [];
  for (const e of edges) {
    const s = handles.get(e.source);
    const t = handles.get(e.target);
    const from = s && (e.sourceHandle ? s.outs.get(e.sourceHandle) : s.first.out);
    const to = t && (e.targetHandle ? t.ins.get(e.targetHandle) : t.first.in);
    if (!from || !to) continue;
    const [d] = getSmoothStepPath({
      sourcePosition: Position.Right,
      sourceX: from.x,
      sourceY: from.y,
      targetPosition: Position.Left,
      targetX: to.x,
      targetY: to.y,
    });
    paths.push(d);
  }
  return { boxes, edgeColor: palette.edge, edges: paths, portFill: palette.port[0], portStroke: palette.port[1] };
}

/** Below this zoom the motion view draws no titles: the DOM hides them too (LOD_FAR_ZOOM). */
const TITLE_ZOOM = 0.25;

/**
 * MotionPainter draws a MotionScene on a canvas at a viewport, at most once per animation frame.
 */
export class MotionPainter {
  private scene: MotionScene | null = null;
  private edges: Path2D | null = null;
  private viewport: Viewport | null = null;
  private frame = 0;
  private text = '';

  private canvas: HTMLCanvasElement | null = null;

  /** attach is a callback ref: the canvas to draw on. */
  readonly attach = (c: HTMLCanvasElement | null) => {
    this.canvas = c;
  };

  /** start takes the scene to draw until stop. */
  start(scene: MotionScene, viewport: Viewport) {
    this.scene = scene;
    this.text = this.canvas ? getComputedStyle(this.canvas).color : '';
    const all = new Path2D();
    for (const d of scene.edges) all.addPath(new Path2D(d));
    this.edges = all;
    this.draw(viewport);
  }

  /** draw asks for the scene at viewport on the next frame. */
  draw(viewport: Viewport) {
    this.viewport = viewport;
    if (!this.scene || this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  /** stop clears the canvas and forgets the scene. */
  stop() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.scene = null;
    this.edges = null;
    const c = this.canvas;
    c?.getContext('2d')?.clearRect(0, 0, c.width, c.height);
  }

  private paint() {
    const c = this.canvas;
    const scene = this.scene;
    const vp = this.viewport;
    if (!c || !scene || !vp) return;
    const dpr = window.devicePixelRatio || 1;
    const width = Math.round(c.clientWidth * dpr);
    const height = Math.round(c.clientHeight * dpr);
    if (c.width !== width || c.height !== height) {
      c.width = width;
      c.height = height;
    }
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const z = vp.zoom;
    ctx.setTransform(dpr * z, 0, 0, dpr * z, dpr * vp.x, dpr * vp.y);
    // What is in view, in flow coordinates: boxes outside it are not drawn.
    const left = -vp.x / z;
    const top = -vp.y / z;
    const right = left + c.clientWidth / z;
    const bottom = top + c.clientHeight / z;

    ctx.lineWidth = 1;
    ctx.strokeStyle = scene.edgeColor;
    if (this.edges) ctx.stroke(this.edges);

    // Boxes, batched by colour: one path per fill and per stroke.
    const fills = new Map<string, MotionBox[]>();
    const strokes = new Map<string, MotionBox[]>();
    const tiles = new Map<string, MotionBox[]>();
    const titled: MotionBox[] = [];
    const visible: MotionBox[] = [];
    for (const b of scene.boxes) {
      if (b.x > right || b.y > bottom || b.x + b.w < left || b.y + b.h < top) continue;
      visible.push(b);
      push(fills, b.fill, b);
      push(strokes, b.stroke, b);
      if (b.tile) push(tiles, b.tile, b);
      if (b.title) titled.push(b);
    }
    const radius = 12;
    for (const [fill, bs] of fills) {
      ctx.beginPath();
      for (const b of bs) ctx.roundRect(b.x, b.y, b.w, b.h, radius);
      ctx.fillStyle = fill;
      ctx.fill();
    }
    ctx.lineWidth = 2;
    for (const [stroke, bs] of strokes) {
      ctx.beginPath();
      for (const b of bs) ctx.roundRect(b.x + 1, b.y + 1, b.w - 2, b.h - 2, radius);
      ctx.strokeStyle = stroke;
      ctx.stroke();
    }
    for (const [tile, bs] of tiles) {
      ctx.beginPath();
      for (const b of bs) ctx.roundRect(b.x + 14, b.y + 10, 32, 32, 6);
      ctx.fillStyle = tile;
      ctx.fill();
    }
    ctx.beginPath();
    for (const b of visible)
      for (const p of b.ports ?? []) {
        ctx.moveTo(p.x + PORT_RADIUS, p.y);
        ctx.arc(p.x, p.y, PORT_RADIUS, 0, 2 * Math.PI);
      }
    ctx.fillStyle = scene.portFill;
    ctx.fill();
    ctx.strokeStyle = scene.portStroke;
    ctx.stroke();
    if (z >= TITLE_ZOOM && titled.length > 0) {
      ctx.fillStyle = this.text;
      ctx.font = '600 14px ui-sans-serif, system-ui, sans-serif';
      ctx.textBaseline = 'middle';
      for (const b of titled) ctx.fillText(b.title!, b.x + 56, b.y + 20, b.w - 70);
    }
  }
}

/** SETTLE_MS is how long the view rests after a gesture before the DOM comes back. */
export const SETTLE_MS = 200;
/** IDLE_MS brings the DOM back when a gesture that never ended has not moved the view for that long. */
export const IDLE_MS = 1000;

/**
 * MotionSession decides when the motion view stands in for the DOM. Gestures overlap (React Flow
 * reports a wheel zoom and a drag that starts during it as two starts, then two ends), so the DOM
 * comes back SETTLE_MS after the last of them ends; a quick next gesture keeps the motion view up. A
 * gesture whose end never comes is given up after IDLE_MS without movement.
 */
export class MotionSession {
  private active = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private el: HTMLElement | null = null;
  private shown = false;

  private scene: () => MotionScene = () => ({ boxes: [], edgeColor: '', edges: [], portFill: '', portStroke: '' });

  /**
   * maxZoom: the motion view comes up only below this zoom, where the DOM draws cards without their
   * details too; zoomed in, few cards are in view and the DOM keeps up.
   */
  constructor(
    private readonly maxZoom: number,
    private readonly painter: Pick<MotionPainter, 'attach' | 'draw' | 'start' | 'stop'> = new MotionPainter(),
  ) {}

  /** attach is a callback ref for the canvas the motion view draws on. */
  readonly attach = (c: HTMLCanvasElement | null) => this.painter.attach(c);

  private onChange: ((moving: boolean) => void) | undefined;

  /** listen tells fn when the motion view comes up (true) and when the DOM is back (false), until the returned function is called. */
  listen(fn: (moving: boolean) => void) {
    this.onChange = fn;
    return () => {
      if (this.onChange === fn) this.onChange = undefined;
    };
  }

  /** setScene sets how to build the scene when a gesture starts (from the graph as it is then). */
  setScene(build: () => MotionScene) {
    this.scene = build;
  }

  /** begin is a user gesture starting on el, the React Flow wrapper. */
  begin(el: HTMLElement, viewport: Viewport) {
    this.active++;
    this.el = el;
    this.show(viewport);
    this.arm(IDLE_MS);
  }

  /**
   * move is the view moving. A gesture that zooms out below maxZoom brings the motion view up; one
   * that zooms in past it keeps it until the view rests.
   */
  move(viewport: Viewport) {
    if (this.active === 0 && !this.shown) return;
    if (!this.shown) this.show(viewport);
    else this.painter.draw(viewport);
    this.arm(this.active > 0 ? IDLE_MS : SETTLE_MS);
  }

  /** end is a gesture ending (or a programmatic move: they are not counted in). */
  end() {
    if (this.active === 0) return;
    this.active--;
    if (this.active === 0) this.arm(SETTLE_MS);
  }

  /** moving says whether the motion view stands in for the DOM. */
  get moving() {
    return this.shown;
  }

  /** finish brings the DOM back at once. */
  finish() {
    clearTimeout(this.timer);
    this.active = 0;
    if (!this.shown) return;
    this.shown = false;
    this.painter.stop();
    this.el?.removeAttribute('data-moving');
    this.onChange?.(false);
  }

  private show(viewport: Viewport) {
    if (this.shown || !this.el || viewport.zoom >= this.maxZoom) return;
    this.shown = true;
    this.el.setAttribute('data-moving', '');
    this.painter.start(this.scene(), viewport);
    this.onChange?.(true);
  }

  private arm(ms: number) {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.finish(), ms);
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V) {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
