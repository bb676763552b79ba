import { useQuery } from '@tanstack/react-query';
import { useRef } from 'react';
import { useParams } from 'react-router';

import { ErrorState, Spinner } from '@components/States';
import { Editor } from '@features/editor/Editor';
import { useCan } from '@hooks/use-me';
import { nodeTypeQueries } from '@services/nodeTypes';
import { workflowQueries, type WorkflowFromAPI } from '@services/workflows';

/**
 * EditorPage loads a workflow and the node types, then opens the editor. The editor starts from a
 * fresh read (not a stale cached one), so that its If-Match version is the current one; later
 * refetches do not reset the open editor.
 */
export function EditorPage() {
  const { id = '' } = useParams();
  const wf = useQuery(workflowQueries.detail(id));
  const types = useQuery(nodeTypeQueries.list());
  const canEdit = useCan('editor');
  const opened = useRef<WorkflowFromAPI | null>(null);
  if (opened.current?.id !== id) opened.current = null;
  if (!opened.current && wf.data && !wf.isFetching) opened.current = wf.data;

  if (wf.isError && !opened.current) {
    return (
      <div className="p-10">
        <ErrorState error={wf.error} onRetry={() => wf.refetch()} title="This workflow could not be opened" />
      </div>
    );
  }
  if (types.isError) {
    return (
      <div className="p-10">
        <ErrorState error={types.error} onRetry={() => types.refetch()} title="Node types could not be loaded" />
      </div>
    );
  }
  if (!opened.current || !types.data) return <Spinner label="Opening the workflow…" />;
  return <Editor key={`${opened.current.id}:${canEdit ? 'edit' : 'read'}`} readOnly={!canEdit} types={types.data} workflow={opened.current} />;
}
