import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link } from 'react-router';

import { useDebouncedValue } from '@hooks/use-debounced-value';
import { shortId } from '@lib/format';
import { isApiError } from '@services/http';
import { workflowQueries } from '@services/workflows';

import { SearchInput } from './SearchInput';

/** WORKFLOW_PICKER_LIMIT is how many workflows one search lists. */
export const WORKFLOW_PICKER_LIMIT = 50;

/** WorkflowPickerProps bind a picker to a workflow id. */
export interface WorkflowPickerProps {
  disabled?: boolean;
  /** exclude leaves a workflow out of the choices (the one being edited). */
  exclude?: string;
  /** id is the select's id, for an outside label. */
  id?: string;
  invalid?: boolean;
  /** label names the select and its search box for assistive technology. */
  label: string;
  /** none is the text of the empty choice. */
  none: string;
  onChange: (workflowId: string | undefined) => void;
  value: string | undefined;
}

/**
 * WorkflowPicker chooses one of the workspace's workflows: a search box (by name, on the server)
 * and a select of the matches. The current choice stays listed, by name, even when the search
 * leaves it out, and a link opens it.
 */
export function WorkflowPicker({ disabled, exclude, id, invalid, label, none, onChange, value }: WorkflowPickerProps) {
  const fallbackId = useId();
  const selectId = id ?? fallbackId;
  const [q, setQ] = useState('');
  const name = useDebouncedValue(q.trim(), 250);
  const list = useQuery(workflowQueries.list({ limit: WORKFLOW_PICKER_LIMIT, name: name || undefined }));
  const items = (list.data?.items ?? []).filter((w) => w.id !== exclude);
  const listed = !!value && items.some((w) => w.id === value);
  const current = useQuery({ ...workflowQueries.detail(value ?? ''), enabled: !!value && !listed, retry: false });
  const missing = !!value && isApiError(current.error, 404);
  const currentName = current.data?.name;
  return (
    <div className="space-y-1.5" data-testid="workflow-picker">
      <SearchInput disabled={disabled} label={`Search ${label.toLowerCase()}`} onChange={setQ} placeholder="Search workflows by name…" value={q} />
      <select
        aria-invalid={invalid || missing ? true : undefined}
        aria-label={id ? undefined : label}
        className="cm-input"
        disabled={disabled}
        id={selectId}
        onChange={(e) => onChange(e.target.value || undefined)}
        value={value ?? ''}
      >
        <option value="">{none}</option>
        {value && !listed && <option value={value}>{missing ? `Deleted workflow (${shortId(value)})` : (currentName ?? shortId(value))}</option>}
        {items.map((w) => (
          <option key={w.id} value={w.id}>
            {w.name}
          </option>
        ))}
      </select>
      <div className="flex justify-between gap-2 text-[11px] text-zinc-500">
        <span>
          {list.isFetching
            ? 'Searching…'
            : list.isError
              ? 'The workflows could not be listed.'
              : list.data?.nextCursor
                ? `The first ${WORKFLOW_PICKER_LIMIT} matches: search to narrow.`
                : name && items.length === 0
                  ? `No workflow is named like “${name}”.`
                  : null}
        </span>
        {value && !missing && (
          <Link className="text-indigo-600 hover:underline dark:text-indigo-400" target="_blank" to={`/workflows/${value}`}>
            Open
          </Link>
        )}
      </div>
      {missing && <p className="text-xs text-red-600 dark:text-red-400">This workflow no longer exists: choose another.</p>}
    </div>
  );
}
