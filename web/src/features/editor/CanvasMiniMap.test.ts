import { describe, expect, it } from 'vitest';

import { fitMiniMap, toFlow } from './CanvasMiniMap';

describe('fitMiniMap', () => {
  const size = { height: 150, width: 200 };

  it('fits the nodes and the view, centred, and maps its points back to the flow', () => {
    const rects = [
      { height: 100, width: 200, x: 0, y: 0 },
      { height: 100, width: 200, x: 1800, y: 900 },
    ];
    const view = { height: 500, width: 800, x: 600, y: 200 };
    const fit = fitMiniMap(rects, view, size);
    // 2000 x 1000 of flow into 188 x 138: the width decides.
    expect(fit.scale).toBeCloseTo(188 / 2000);
    expect(fit.origin).toEqual({ x: 0, y: 0 });
    expect(fit.offset.x).toBeCloseTo(6);
    expect(fit.offset.y).toBeCloseTo((150 - 1000 * fit.scale) / 2);
    // The minimap's centre is the bounds' centre.
    const c = toFlow(fit, { x: 100, y: 75 });
    expect(c.x).toBeCloseTo(1000);
    expect(c.y).toBeCloseTo(500);
  });

  it('takes the view into the bounds when it shows empty canvas beyond the nodes', () => {
    const fit = fitMiniMap([{ height: 100, width: 100, x: 0, y: 0 }], { height: 300, width: 400, x: -1000, y: -500 }, size);
    expect(fit.origin).toEqual({ x: -1000, y: -500 });
    const corner = toFlow(fit, { x: fit.offset.x, y: fit.offset.y });
    expect(corner.x).toBeCloseTo(-1000);
    expect(corner.y).toBeCloseTo(-500);
  });

  it('does not divide by zero for an empty graph and an empty view', () => {
    const fit = fitMiniMap([], { height: 0, width: 0, x: 10, y: 10 }, size);
    expect(Number.isFinite(fit.scale)).toBe(true);
  });
});
