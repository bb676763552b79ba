import { useSyncExternalStore } from 'react';

/** ThemeChoice is the user's choice: follow the system, or force light or dark. */
export type ThemeChoice = 'dark' | 'light' | 'system';

const KEY = 'cm-theme';
const listeners = new Set<() => void>();

function read(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'dark' || v === 'light' ? v : 'system';
  } catch {
    return 'system';
  }
}

let choice: ThemeChoice = typeof window === 'undefined' ? 'system' : read();

function systemDark(): boolean {
  return typeof window !== 'undefined' && window.matchMedia('(prefers-color-scheme: dark)').matches;
}

/** resolvedTheme is the theme in effect. */
export function resolvedTheme(c: ThemeChoice = choice): 'dark' | 'light' {
  return c === 'system' ? (systemDark() ? 'dark' : 'light') : c;
}

function apply() {
  document.documentElement.classList.toggle('dark', resolvedTheme() === 'dark');
  for (const l of listeners) l();
}

/** setTheme stores and applies the user's choice. */
export function setTheme(c: ThemeChoice): void {
  choice = c;
  try {
    if (c === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, c);
  } catch {
    // Storage may be unavailable (private mode); the choice then lasts for this page only.
  }
  apply();
}

/** watchSystemTheme re-applies the theme when the system's changes; call once at start. */
export function watchSystemTheme(): void {
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (choice === 'system') apply();
  });
}

/** useTheme returns the choice and the theme in effect. */
export function useTheme(): { choice: ThemeChoice; resolved: 'dark' | 'light' } {
  const c = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => choice,
    () => choice,
  );
  return { choice: c, resolved: resolvedTheme(c) };
}
