import { Play } from 'lucide-react';
import { useState } from 'react';

import { Button } from '@components/Button';
import { Dialog } from '@components/Dialog';
import { parseJsonSafe } from '@lib/json';

/** RunDialogProps describe the run form: which trigger to start from and the input to give it. */
export interface RunDialogProps {
  /** blockers are the problems that stop the workflow from running, in words; none lets it run. */
  blockers?: string[];
  busy: boolean;
  dirty: boolean;
  initialInput: string;
  onClose: () => void;
  onRun: (input: unknown, inputText: string, triggerNode: string | undefined) => void;
  open: boolean;
  triggers: string[];
}

/** RunDialog asks for the run's input JSON (and trigger, when there are several) and starts it. */
export function RunDialog({ blockers = [], busy, dirty, initialInput, onClose, onRun, open, triggers }: RunDialogProps) {
  const blocked = blockers.length > 0;
  const [text, setText] = useState(initialInput);
  const [trigger, setTrigger] = useState(triggers[0] ?? '');
  const parsed = text.trim() === '' ? ({ ok: true, value: {} } as const) : parseJsonSafe(text);
  const submit = () => {
    if (parsed.ok && !blocked) onRun(parsed.value, text, triggers.length > 1 ? trigger : undefined);
  };
  return (
    <Dialog
      description={
        blocked
          ? `Fix ${blockers.length === 1 ? 'this problem' : `these ${blockers.length} problems`} first: a run always runs a saved version, and a workflow with problems cannot be saved.`
          : dirty
            ? 'Your unsaved changes are saved first: a run always runs a saved version.'
            : 'The input is available to the trigger and to expressions as trigger and input.'
      }
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!parsed.ok || busy || blocked} icon={<Play className="size-4" />} onClick={submit} variant="primary">
            {dirty && !blocked ? 'Save and run' : 'Run'}
          </Button>
        </>
      }
      onClose={onClose}
      open={open}
      title="Run workflow"
    >
      {blocked && (
        <ul
          className="mb-3 max-h-40 space-y-1 overflow-auto rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-900 dark:bg-red-950/40 dark:text-red-200"
          data-testid="run-blockers"
          role="alert"
        >
          {blockers.slice(0, 20).map((b) => (
            <li key={b}>{b}</li>
          ))}
          {blockers.length > 20 && <li>…and {blockers.length - 20} more</li>}
        </ul>
      )}
      {triggers.length > 1 && (
        <div className="mb-3">
          <label className="mb-1 block text-sm font-medium" htmlFor="run-trigger">
            Start from
          </label>
          <select className="cm-input" id="run-trigger" onChange={(e) => setTrigger(e.target.value)} value={trigger}>
            {triggers.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
      )}
      <label className="mb-1 block text-sm font-medium" htmlFor="run-input">
        Input (JSON)
      </label>
      <textarea
        aria-invalid={!parsed.ok}
        autoFocus
        className="cm-input h-48 font-mono text-[13px]"
        id="run-input"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
            e.preventDefault();
            submit();
          }
        }}
        spellCheck={false}
        value={text}
      />
      {!parsed.ok && <p className="mt-1 text-xs text-red-600 dark:text-red-400">Not JSON: {parsed.error}</p>}
    </Dialog>
  );
}
