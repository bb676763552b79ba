/** bigWorkflow returns a definition with exactly count nodes. */
export declare function bigWorkflow(count?: number): {
  edges: { source: string; sourcePort?: string; target: string }[];
  name: string;
  nodes: { config?: Record<string, unknown>; id: string; position: { x: number; y: number }; type: string }[];
};
