import clsx from 'clsx';
import { useMemo } from 'react';

import { renderMarkdown } from '@lib/markdown';

/** Markdown renders trusted-shape, untrusted-content Markdown (node type docs) as sanitized HTML. */
export function Markdown({ className, label, source }: { className?: string; label?: string; source: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  // The HTML comes out of DOMPurify (renderMarkdown): no script, handler or style survives it.
  return <div aria-label={label} className={clsx('cm-markdown', className)} dangerouslySetInnerHTML={{ __html: html }} role={label ? 'document' : undefined} />;
}
