// Builds a large multi-branch workflow definition for the end-to-end tests and the benchmark
// (bench/web.mjs): a manual trigger feeding chains of data.set nodes through flow.if branches,
// laid out on a grid.

/**
 * bigWorkflow returns a definition with exactly `count` nodes (count >= 4) in `lanes` rows (default
 * 10; the benchmark lays 500 nodes out in 20 so that zoom to fit shows them all, as it does 200 in 10).
 * @param {number} count
 * @param {{lanes?: number}} [options]
 * @returns {{name: string, nodes: Array<Record<string, unknown>>, edges: Array<Record<string, string>>}}
 */
export function bigWorkflow(count = 200, { lanes = 10 } = {}) {
  const nodes = [{ id: 'start', type: 'trigger.manual', position: { x: 0, y: 0 } }];
  const edges = [];
  let prevInLane = new Array(lanes).fill('start');
  let i = 1;
  let col = 1;
  while (i < count) {
    for (let lane = 0; lane < lanes && i < count; lane++, i++) {
      const id = i % 7 === 0 ? `branch_${i}` : `step_${i}`;
      const isIf = id.startsWith('branch_');
      nodes.push(
        isIf
          ? { id, type: 'flow.if', config: { condition: `{{ input.n > ${i} }}` }, position: { x: col * 300, y: lane * 140 } }
          : { id, type: 'data.set', config: { fields: { [`f${i}`]: `{{ input.n + ${i} }}` } }, position: { x: col * 300, y: lane * 140 } },
      );
      const prev = prevInLane[lane];
      const prevNode = nodes.find((n) => n.id === prev);
      const edge = { source: prev, target: id };
      if (prevNode && prevNode.type === 'flow.if') edge.sourcePort = lane % 2 === 0 ? 'true' : 'false';
      edges.push(edge);
      prevInLane[lane] = id;
    }
    col++;
  }
  return { name: `Big workflow (${count} nodes)`, nodes, edges };
}
