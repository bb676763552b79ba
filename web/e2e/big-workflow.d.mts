/** bigWorkflow returns a definition with exactly count nodes, in lanes rows (default 10). */
export declare function bigWorkflow(
  count?: number,
  options?: { lanes?: number },
): {
  edges: { source: string; sourcePort?: string; target: string }[];
  name: string;
  nodes: { config?: Record<string, unknown>; id: string; position: { x: number; y: number }; type: string }[];
};
