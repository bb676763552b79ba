import { X } from 'lucide-react';
import { useState } from 'react';

/** TAG_PATTERN is the server's rule for a tag (workflow.TagPattern): 1–32 letters, digits, spaces, dots, dashes or underscores. */
export const TAG_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,31}$/u;
/** MAX_TAGS is the most tags a workflow carries. */
export const MAX_TAGS = 20;

/** addTag returns tags with raw added (trimmed), or an error saying why it cannot be. */
export function addTag(tags: string[], raw: string): { error?: string; tags: string[] } {
  const tag = raw.trim();
  if (!tag) return { tags };
  if (!TAG_PATTERN.test(tag)) return { error: 'A tag is 1 to 32 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit.', tags };
  if (tags.some((t) => t.toLowerCase() === tag.toLowerCase())) return { error: `“${tag}” is already a tag.`, tags };
  if (tags.length >= MAX_TAGS) return { error: `A workflow carries at most ${MAX_TAGS} tags.`, tags };
  return { tags: [...tags, tag] };
}

/** TagsInput edits a list of tags: type one and press Enter or a comma; Backspace in the empty field removes the last. */
export function TagsInput({ disabled, id, onChange, tags }: { disabled?: boolean; id: string; onChange: (tags: string[]) => void; tags: string[] }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const commit = () => {
    const next = addTag(tags, text);
    setError(next.error ?? null);
    if (!next.error) {
      setText('');
      if (next.tags !== tags) onChange(next.tags);
    }
  };
  return (
    <div>
      <div className="cm-input flex min-h-9 flex-wrap items-center gap-1 py-1" data-testid="tags-input">
        {tags.map((t) => (
          <span
            key={t}
            className="inline-flex items-center gap-0.5 rounded-full bg-indigo-50 py-0.5 pr-0.5 pl-2 text-xs text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200"
          >
            {t}
            {!disabled && (
              <button
                aria-label={`Remove tag ${t}`}
                className="rounded-full p-0.5 hover:bg-indigo-100 dark:hover:bg-indigo-900"
                onClick={() => onChange(tags.filter((x) => x !== t))}
                type="button"
              >
                <X aria-hidden className="size-3" />
              </button>
            )}
          </span>
        ))}
        <input
          aria-describedby={error ? `${id}-error` : undefined}
          aria-invalid={error ? true : undefined}
          className="min-w-24 flex-1 bg-transparent text-sm outline-none"
          disabled={disabled}
          id={id}
          maxLength={32}
          onBlur={() => text.trim() && commit()}
          onChange={(e) => {
            setText(e.target.value);
            setError(null);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === ',') {
              e.preventDefault();
              commit();
            } else if (e.key === 'Backspace' && text === '' && tags.length > 0) {
              onChange(tags.slice(0, -1));
            }
          }}
          placeholder={tags.length ? '' : 'Add a tag, then Enter'}
          value={text}
        />
      </div>
      {error && (
        <p className="mt-0.5 text-xs text-red-600 dark:text-red-400" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
