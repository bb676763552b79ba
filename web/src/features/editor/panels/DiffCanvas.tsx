import { useState } from 'react';

import type { Catalog } from '@services/nodeTypes';

import { Canvas } from '../Canvas';
import { EditorStoreContext, RunOverlayContext } from '../EditorContext';
import { createEditorStore, type EditorStore } from '../store';
import type { DiffPicture, NodeStatus } from '../versionDiff';

/** STATUS_LABEL names each colour of the diff canvas, for its legend and for screen readers. */
export const STATUS_LABEL: Record<Exclude<NodeStatus, 'same'>, string> = {
  added: 'Added',
  changed: 'Changed',
  moved: 'Moved',
  removed: 'Removed',
};

/**
 * diffStore makes a read-only editor store that holds the merged picture of two versions, its nodes
 * and edges carrying the class (cm-diff-added, …) that colours them and a label that says why.
 */
export function diffStore(picture: DiffPicture, catalog: Catalog, workflowId: string): EditorStore {
  const store = createEditorStore({ catalog, definition: picture.definition, readOnly: true, version: 0, workflowId });
  const s = store.getState();
  store.setState({
    edges: s.edges.map((e) => {
      const st = picture.edges.get(e.id);
      return st ? { ...e, ariaLabel: `${STATUS_LABEL[st]} edge ${e.source} to ${e.target}`, className: `cm-diff-${st}` } : e;
    }),
    nodes: s.nodes.map((n) => {
      const st = picture.nodes.get(n.id);
      return st && st !== 'same' ? { ...n, ariaLabel: `${STATUS_LABEL[st]}: ${n.data.name || n.id}`, className: `cm-diff-${st}` } : n;
    }),
  });
  return store;
}

/**
 * DiffCanvas draws two versions at once on the editor's canvas, read-only: nodes added, removed,
 * changed and moved are coloured and badged. It must sit inside a ReactFlowProvider of its own. Mount
 * it with a key per pair of versions: the picture is read once.
 */
export function DiffCanvas({ catalog, picture, workflowId }: { catalog: Catalog; picture: DiffPicture; workflowId: string }) {
  const [store] = useState(() => diffStore(picture, catalog, workflowId));
  return (
    <RunOverlayContext.Provider value={null}>
      <EditorStoreContext.Provider value={store}>
        <Canvas readOnly />
      </EditorStoreContext.Provider>
    </RunOverlayContext.Provider>
  );
}
