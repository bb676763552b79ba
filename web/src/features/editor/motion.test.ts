import type { InternalNode, Viewport } from '@xyflow/react';
import { afterEach, beforeEach, describe, expect, it, vi, type Mock } from 'vitest';

import { buildMotionScene, IDLE_MS, MotionSession, PALETTES, SETTLE_MS, type MotionScene, type NodeLook } from './motion';

const light = PALETTES.light;

/** internal builds the part of React Flow's internal node that the scene reads. */
function internal(
  id: string,
  x: number,
  y: number,
  opts: { measured?: { height: number; width: number }; handles?: boolean; hidden?: boolean; selected?: boolean } = {},
) {
  const handleBounds = opts.handles
    ? {
        source: [
          { height: 15, id: 'out', nodeId: id, position: 'right', type: 'source', width: 15, x: 232, y: 60 },
          { height: 15, id: 'error', nodeId: id, position: 'right', type: 'source', width: 15, x: 232, y: 82 },
        ],
        target: [{ height: 15, id: 'in', nodeId: id, position: 'left', type: 'target', width: 15, x: -8, y: 60 }],
      }
    : undefined;
  return {
    hidden: opts.hidden,
    id,
    internals: { handleBounds, positionAbsolute: { x, y }, z: 0 },
    measured: opts.measured ?? {},
    position: { x, y },
    selected: opts.selected,
  } as unknown as InternalNode;
}

const plain: NodeLook = { category: 'Data', ins: ['in'], outs: ['out'], title: 'Set fields' };

describe('buildMotionScene', () => {
  it('draws a measured node where React Flow measured it, and its edges from the measured handles', () => {
    const scene = buildMotionScene(
      [
        internal('a', 0, 0, { handles: true, measured: { height: 110, width: 240 } }),
        internal('b', 400, 0, { handles: true, measured: { height: 110, width: 240 } }),
      ],
      [{ source: 'a', sourceHandle: 'out', target: 'b', targetHandle: 'in' }],
      () => plain,
      light,
    );
    expect(scene.boxes).toHaveLength(2);
    expect(scene.boxes[1]).toMatchObject({ fill: light.card, h: 110, stroke: light.border, tile: light.tiles.Data, title: 'Set fields', w: 240, x: 400, y: 0 });
    // Ports at the handles' centres: in, then out and error.
    expect(scene.boxes[0]!.ports).toEqual([
      { x: -0.5, y: 67.5 },
      { x: 239.5, y: 67.5 },
      { x: 239.5, y: 89.5 },
    ]);
    // The edge leaves a's "out" on its outer side and reaches b's "in" on its outer side.
    expect(scene.edges).toHaveLength(1);
    expect(scene.edges[0]).toMatch(/^M ?247[ ,]67\.5/);
    expect(scene.edges[0]).toMatch(/392[ ,]67\.5$/);
  });

  it('lays out a node that was never rendered from its ports', () => {
    const scene = buildMotionScene(
      [internal('a', 0, 0), internal('b', 400, 100)],
      [{ source: 'a', target: 'b' }],
      (id) => (id === 'a' ? { ins: [], outs: ['true', 'false'], title: 'If' } : plain),
      light,
    );
    // Two port rows: a header, the rows, their padding and the border.
    expect(scene.boxes[0]).toMatchObject({ h: 53 + 2 * 22 + 12 + 4, tile: light.tile, w: 240 });
    expect(scene.boxes[0]!.ports).toHaveLength(2);
    // No handle named: the first output and the first input.
    expect(scene.edges).toHaveLength(1);
    expect(scene.edges[0]).toMatch(/^M ?248\.5[ ,]70/);
  });

  it('leaves out hidden nodes and edges whose ends it cannot place', () => {
    const scene = buildMotionScene(
      [internal('a', 0, 0, { handles: true }), internal('b', 400, 0, { hidden: true }), internal('c', 800, 0, { handles: true })],
      [
        { source: 'a', target: 'b' },
        { source: 'a', sourceHandle: 'nope', target: 'c' },
        { source: 'a', sourceHandle: 'error', target: 'c', targetHandle: 'in' },
        { source: 'gone', target: 'c' },
      ],
      () => plain,
      light,
    );
    expect(scene.boxes.map((b) => b.x)).toEqual([0, 800]);
    expect(scene.edges).toHaveLength(1);
  });

  it.each([
    { look: { ...plain, status: 'failed' }, selected: false, stroke: light.status.failed },
    { look: { ...plain, problem: true, status: 'succeeded' }, selected: false, stroke: light.problem },
    { look: { ...plain, problem: true }, selected: true, stroke: light.selected },
    { look: { ...plain, status: 'pending' }, selected: false, stroke: light.border },
  ])('borders a node as its card does: $stroke', ({ look, selected, stroke }) => {
    const scene = buildMotionScene([internal('a', 0, 0, { selected })], [], () => look, light);
    expect(scene.boxes[0]!.stroke).toBe(stroke);
  });

  it('draws sticky notes in their colour, without ports or title', () => {
    const scene = buildMotionScene(
      [internal('note_1', 0, 0, { measured: { height: 100, width: 200 } })],
      [],
      () => ({ ins: [], note: 'blue', outs: [] }),
      PALETTES.dark,
    );
    expect(scene.boxes[0]).toEqual({ fill: PALETTES.dark.notes.blue![0], h: 100, stroke: PALETTES.dark.notes.blue![1], w: 200, x: 0, y: 0 });
  });
});

describe('MotionSession', () => {
  const empty: MotionScene = { boxes: [], edgeColor: '', edges: [], portFill: '', portStroke: '' };
  let painter: {
    attach: Mock<(c: HTMLCanvasElement | null) => void>;
    draw: Mock<(v: Viewport) => void>;
    start: Mock<(s: MotionScene, v: Viewport) => void>;
    stop: Mock<() => void>;
  };
  let el: { attrs: Set<string>; removeAttribute: (n: string) => void; setAttribute: (n: string) => void };
  let session: MotionSession;
  let changes: boolean[];
  const at = (zoom: number) => ({ x: 0, y: 0, zoom });

  beforeEach(() => {
    vi.useFakeTimers();
    painter = { attach: vi.fn(), draw: vi.fn(), start: vi.fn(), stop: vi.fn() };
    el = { attrs: new Set(), removeAttribute: (n) => el.attrs.delete(n), setAttribute: (n) => el.attrs.add(n) };
    session = new MotionSession(0.45, painter);
    session.setScene(() => empty);
    changes = [];
    session.listen((m) => changes.push(m));
  });
  afterEach(() => vi.useRealTimers());

  const begin = (zoom = 0.2) => session.begin(el as unknown as HTMLElement, at(zoom));

  it('stands in for the DOM during a gesture and gives it back once the view has rested', () => {
    begin();
    expect(el.attrs.has('data-moving')).toBe(true);
    expect(painter.start).toHaveBeenCalledWith(empty, at(0.2));
    session.move(at(0.25));
    expect(painter.draw).toHaveBeenCalledWith(at(0.25));
    session.end();
    vi.advanceTimersByTime(SETTLE_MS - 1);
    expect(session.moving).toBe(true);
    vi.advanceTimersByTime(1);
    expect(session.moving).toBe(false);
    expect(el.attrs.has('data-moving')).toBe(false);
    expect(painter.stop).toHaveBeenCalledTimes(1);
    expect(changes).toEqual([true, false]);
  });

  it('keeps the motion view through overlapping gestures and a quick next one', () => {
    begin(); // a wheel zoom
    begin(); // a drag that starts during it
    session.end(); // the wheel's end
    vi.advanceTimersByTime(SETTLE_MS * 2);
    expect(session.moving).toBe(true);
    session.end(); // the drag's end
    vi.advanceTimersByTime(SETTLE_MS / 2);
    begin(); // the next gesture, before the view has rested
    vi.advanceTimersByTime(SETTLE_MS);
    expect(session.moving).toBe(true);
    expect(painter.start).toHaveBeenCalledTimes(1);
    session.end();
    vi.advanceTimersByTime(SETTLE_MS);
    expect(changes).toEqual([true, false]);
  });

  it('gives the DOM back when a gesture never ends and the view stops moving', () => {
    begin();
    vi.advanceTimersByTime(IDLE_MS - 10);
    session.move(at(0.3));
    vi.advanceTimersByTime(IDLE_MS - 10);
    expect(session.moving).toBe(true);
    vi.advanceTimersByTime(10);
    expect(session.moving).toBe(false);
    // The late end changes nothing.
    session.end();
    expect(changes).toEqual([true, false]);
  });

  it('leaves zoomed-in views to the DOM, and comes up when a gesture zooms out', () => {
    begin(1);
    expect(session.moving).toBe(false);
    session.move(at(0.6));
    expect(session.moving).toBe(false);
    session.move(at(0.4));
    expect(session.moving).toBe(true);
    // Zooming back in keeps it up until the view rests.
    session.move(at(0.8));
    expect(session.moving).toBe(true);
    session.end();
    vi.advanceTimersByTime(SETTLE_MS);
    expect(session.moving).toBe(false);
  });

  it('ignores moves that no gesture of the user started (zoom to fit, reveal)', () => {
    session.move(at(0.2));
    session.end();
    expect(session.moving).toBe(false);
    expect(painter.start).not.toHaveBeenCalled();
  });

  it('finishes at once when asked (the canvas goes away)', () => {
    begin();
    session.finish();
    expect(el.attrs.size).toBe(0);
    expect(changes).toEqual([true, false]);
  });
});
