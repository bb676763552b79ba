import { Dialog } from '@components/Dialog';

import { SHORTCUTS } from './shortcuts';

/** HelpDialog lists the keyboard shortcuts. */
export function HelpDialog({ onClose, open }: { onClose: () => void; open: boolean }) {
  return (
    <Dialog description="Shortcuts work when the focus is not in a text field." onClose={onClose} open={open} title="Keyboard shortcuts">
      <table className="w-full text-sm">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.what} className="border-b border-zinc-100 last:border-0 dark:border-zinc-800">
              <td className="py-1.5 pr-4">
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && <span className="mx-1 text-zinc-500 dark:text-zinc-400">or</span>}
                    <kbd className="rounded border border-zinc-300 bg-zinc-50 px-1.5 py-0.5 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-800">{k}</kbd>
                  </span>
                ))}
              </td>
              <td className="py-1.5 text-zinc-600 dark:text-zinc-300">{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
}
