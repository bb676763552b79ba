import { Play } from 'lucide-react';
import { useState } from 'react';

import { Button } from '@components/Button';
import { Dialog } from '@components/Dialog';
import { parseJsonSafe } from '@lib/json';

/** RunDialogProps describe the run form: which trigger to start from and the input to give it. */
export interface RunDialogProps {
  busy: boolean;
  dirty: boolean;
  initialInput: string;
  onClose: () => void;
  onRun: (input: unknown, inputText: string, triggerNode: string | undefined) => void;
  open: boolean;
  triggers: string[];
}

/** RunDialog asks for the run's input JSON (and trigger, when there are several) and starts it. */
export function RunDialog({ busy, dirty, initialInput, onClose, onRun, open, triggers }: RunDialogProps) {
  const [text, setText] = useState(initialInput);
  const [trigger, setTrigger] = useState(triggers[0] ?? '');
  const parsed = text.trim() === '' ? ({ ok: true, value: {} } as const) : parseJsonSafe(text);
  const submit = () => {
    if (parsed.ok) onRun(parsed.value, text, triggers.length > 1 ? trigger : undefined);
  };
  return (
    <Dialog
      description={dirty ? 'Your unsaved changes are saved first: a run always runs a saved version.' : 'The input is available to the trigger and to expressions as trigger and input.'}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button disabled={!parsed.ok || busy} icon={<Play className="size-4" />} onClick={submit} variant="primary">
            {dirty ? 'Save and run' : 'Run'}
          </Button>
        </>
      }
      onClose={onClose}
      open={open}
      title="Run workflow"
    >
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
