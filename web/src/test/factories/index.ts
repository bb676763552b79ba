import type { ExecutionDetailFromAPI, NodeRunFromAPI } from '@services/executions';
import type { Catalog, NodeTypeInfo } from '@services/nodeTypes';
import { toCatalog } from '@services/nodeTypes';
import type { DefinitionFromAPI, NodeFromAPI, WorkflowFromAPI } from '@services/workflows';

/** nodeTypeFactory builds a node type with sensible defaults. */
export function nodeTypeFactory(overrides: Partial<NodeTypeInfo> & Pick<NodeTypeInfo, 'type'>): NodeTypeInfo {
  return {
    category: 'Data',
    configSchema: { properties: {}, type: 'object' },
    description: `The ${overrides.type} node`,
    docs: '',
    dynamicPorts: false,
    icon: '',
    inputs: [{ name: 'in', title: 'Input' }],
    outputs: [{ name: 'out', title: 'Output' }],
    title: overrides.type,
    trigger: false,
    version: 1,
    ...overrides,
  };
}

/** catalogFactory is a catalog shaped like the built-in node types. */
export function catalogFactory(): Catalog {
  return toCatalog([
    nodeTypeFactory({ category: 'Triggers', inputs: [], title: 'Manual trigger', trigger: true, type: 'trigger.manual' }),
    nodeTypeFactory({
      category: 'Triggers',
      configSchema: {
        properties: {
          method: { default: 'POST', enum: ['GET', 'POST'], title: 'Method', type: 'string' },
          path: { minLength: 1, pattern: '^/?[A-Za-z0-9_-][A-Za-z0-9._~-]*(/[A-Za-z0-9._~-]+)*/?$', title: 'Path', type: 'string' },
        },
        required: ['path'],
        type: 'object',
      },
      inputs: [],
      title: 'Webhook',
      trigger: true,
      type: 'trigger.webhook',
    }),
    nodeTypeFactory({
      category: 'Flow',
      configSchema: {
        properties: { condition: { description: 'e.g. {{ input.total > 100 }}', title: 'Condition', 'x-cm-expression': true } },
        required: ['condition'],
        type: 'object',
      },
      outputs: [
        { name: 'true', title: 'True' },
        { name: 'false', title: 'False' },
      ],
      title: 'If',
      type: 'flow.if',
    }),
    nodeTypeFactory({
      category: 'Flow',
      configSchema: {
        properties: {
          cases: {
            items: {
              properties: { condition: { title: 'Condition', 'x-cm-expression': true }, port: { title: 'Port', type: 'string' } },
              required: ['port', 'condition'],
              type: 'object',
            },
            title: 'Cases',
            type: 'array',
          },
        },
        required: ['cases'],
        type: 'object',
      },
      dynamicPorts: true,
      outputs: [{ name: 'default', title: 'Default' }],
      title: 'Switch',
      type: 'flow.switch',
    }),
    nodeTypeFactory({
      configSchema: {
        properties: {
          fields: { title: 'Fields', type: 'object' },
          keepInput: { default: true, title: 'Keep input', type: 'boolean' },
        },
        required: ['fields'],
        type: 'object',
      },
      title: 'Set fields',
      type: 'data.set',
    }),
    nodeTypeFactory({
      category: 'HTTP',
      configSchema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        additionalProperties: false,
        properties: {
          body: { title: 'Body' },
          headers: { additionalProperties: { type: 'string' }, title: 'Headers', type: 'object' },
          method: { default: 'GET', enum: ['GET', 'POST'], title: 'Method', type: 'string' },
          url: { minLength: 1, title: 'URL', type: 'string' },
        },
        required: ['url'],
        type: 'object',
      },
      title: 'HTTP request',
      type: 'http.request',
    }),
  ]);
}

/** nodeFactory builds a definition node. */
export function nodeFactory(id: string, type: string, extra: Partial<NodeFromAPI> = {}): NodeFromAPI {
  return { config: {}, id, position: { x: 0, y: 0 }, type, ...extra };
}

/** definitionFactory builds a small linear workflow: start → check (if) → a / b. */
export function definitionFactory(overrides: Partial<DefinitionFromAPI> = {}): DefinitionFromAPI {
  return {
    edges: [
      { source: 'start', target: 'check' },
      { source: 'check', sourcePort: 'true', target: 'a' },
      { source: 'check', sourcePort: 'false', target: 'b' },
    ],
    name: 'Test workflow',
    nodes: [
      nodeFactory('start', 'trigger.manual', { config: undefined }),
      nodeFactory('check', 'flow.if', { config: { condition: '{{ input.total > 100 }}' }, position: { x: 300, y: 0 } }),
      nodeFactory('a', 'data.set', { config: { fields: { big: true } }, position: { x: 600, y: -80 } }),
      nodeFactory('b', 'data.set', { config: { fields: { big: false } }, position: { x: 600, y: 80 } }),
    ],
    ...overrides,
  };
}

/** nodeRunFactory builds a node run whose values were small enough to come whole. */
export function nodeRunFactory(overrides: Partial<NodeRunFromAPI> & Pick<NodeRunFromAPI, 'nodeId'>): NodeRunFromAPI {
  return { attempt: 1, inputBytes: 0, inputTruncated: false, outputBytes: 0, outputTruncated: false, status: 'succeeded', ...overrides };
}

/** executionFactory builds a finished execution with the given node runs. */
export function executionFactory(overrides: Partial<ExecutionDetailFromAPI> = {}): ExecutionDetailFromAPI {
  return {
    createdAt: '2026-01-01T00:00:00Z',
    id: 'e1',
    input: {},
    inputBytes: 2,
    inputTruncated: false,
    nodeRuns: [],
    outputBytes: 0,
    outputTruncated: false,
    status: 'succeeded',
    trigger: { kind: 'manual' },
    workflowId: 'w',
    workflowVersion: 1,
    ...overrides,
  };
}

/** workflowFactory builds a stored workflow (w1, version 3) around definitionFactory's graph. */
export function workflowFactory(overrides: Partial<WorkflowFromAPI> = {}): WorkflowFromAPI {
  const def = definitionFactory();
  return {
    ...def,
    active: false,
    createdAt: '2026-01-01T00:00:00Z',
    edges: def.edges ?? [],
    id: 'w1',
    settings: {},
    tags: [],
    updatedAt: '2026-01-01T00:00:00Z',
    version: 3,
    ...overrides,
  };
}

/** problemFactory builds the problem+json body of a refused request, with its field errors. */
export function problemFactory(status: number, detail: string, errors?: { location: string; message: string }[]) {
  return { detail, status, title: 'Refused', type: 'about:blank', ...(errors ? { errors } : {}) };
}
