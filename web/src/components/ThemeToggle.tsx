import { Monitor, Moon, Sun } from 'lucide-react';

import { setTheme, useTheme, type ThemeChoice } from '@lib/theme';

const NEXT: Record<ThemeChoice, ThemeChoice> = { dark: 'system', light: 'dark', system: 'light' };
const LABEL: Record<ThemeChoice, string> = { dark: 'Dark theme', light: 'Light theme', system: 'System theme' };

/** ThemeToggle cycles system → light → dark. */
export function ThemeToggle() {
  const { choice } = useTheme();
  const Icon = choice === 'dark' ? Moon : choice === 'light' ? Sun : Monitor;
  return (
    <button
      aria-label={`${LABEL[choice]} (switch to ${LABEL[NEXT[choice]].toLowerCase()})`}
      className="inline-flex size-9 items-center justify-center rounded-md text-zinc-400 hover:bg-zinc-800 hover:text-white"
      onClick={() => setTheme(NEXT[choice])}
      title={LABEL[choice]}
      type="button"
    >
      <Icon className="size-4" />
    </button>
  );
}
