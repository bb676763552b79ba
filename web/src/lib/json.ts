/** JsonValue is any value JSON can hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** isRecord reports whether v is a plain object (not an array, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** parseJsonSafe parses text, returning an error message instead of throwing. */
export function parseJsonSafe(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e), ok: false };
  }
}

/** hasExpression reports whether a value is a string holding a {{ … }} expression. */
export function hasExpression(v: unknown): boolean {
  return typeof v === 'string' && /\{\{[\s\S]*\}\}/.test(v);
}

/**
 * parseLooseValue turns what a user typed into a config value: JSON literals (numbers, booleans, null,
 * objects, arrays) become typed values; anything else, expressions included, stays text.
 */
export function parseLooseValue(text: string): unknown {
  const t = text.trim();
  if (t === '') return text;
  if (/^[[{]/.test(t) || /^(true|false|null)$/.test(t) || /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t)) {
    const r = parseJsonSafe(t);
    if (r.ok) return r.value;
  }
  return text;
}

/** formatLooseValue is the inverse of parseLooseValue, for showing a value in a text box. */
export function formatLooseValue(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** downloadJson saves value as a pretty-printed JSON file. */
export function downloadJson(filename: string, value: unknown): void {
  const blob = new Blob([JSON.stringify(value, null, 2) + '\n'], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** readFileText reads a user-picked file as text (FileReader works in every browser and in jsdom). */
export function readFileText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result ?? ''));
    r.onerror = () => reject(r.error ?? new Error('The file could not be read.'));
    r.readAsText(file);
  });
}
