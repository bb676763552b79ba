import { createContext, useContext } from 'react';
import { useStore } from 'zustand';

import type { NodeRunSummary } from '@services/executions';
import type { PinFromAPI } from '@services/pins';

import type { EditorState, EditorStore } from './store';

/** EditorStoreContext hands one editor instance's store down the tree. */
export const EditorStoreContext = createContext<EditorStore | null>(null);

/** useEditorApi returns the store itself, for event handlers that read state with getState(). */
export function useEditorApi(): EditorStore {
  const store = useContext(EditorStoreContext);
  if (!store) throw new Error('useEditorApi must be used inside an EditorStoreContext provider');
  return store;
}

/** useEditorStore reads a slice of the editor state; wrap object selectors in useShallow. */
export function useEditorStore<T>(selector: (s: EditorState) => T): T {
  return useStore(useEditorApi(), selector);
}

/**
 * RunOverlayContext holds the latest run of each node of the execution painted on the canvas. It is a
 * derived overlay: node status is never written into the editor graph.
 */
export const RunOverlayContext = createContext<ReadonlyMap<string, NodeRunSummary> | null>(null);

/**
 * PinsContext holds the workflow's pinned outputs by node id, for the canvas to mark pinned nodes
 * (null where pins do not apply, such as an execution's read-only graph).
 */
export const PinsContext = createContext<ReadonlyMap<string, PinFromAPI> | null>(null);
