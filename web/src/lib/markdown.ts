import DOMPurify from 'dompurify';
import { Marked } from 'marked';

/** parser is marked with GitHub-flavoured Markdown (tables, fenced code), synchronous. */
const parser = new Marked({ async: false, gfm: true });

/** MAX_MARKDOWN bounds the source rendered at once (node type docs are a few KiB). */
const MAX_MARKDOWN = 256 * 1024;

/**
 * renderMarkdown turns Markdown into HTML that is safe to insert: marked parses it (no eval, no
 * script of its own, so it works under the app's CSP), then DOMPurify keeps only HTML (no SVG or
 * MathML), drops scripts, event handlers, styles, forms and javascript: links. Links leave the app in
 * a new tab without a referrer.
 */
export function renderMarkdown(source: string): string {
  const text = source.length > MAX_MARKDOWN ? `${source.slice(0, MAX_MARKDOWN)}\n\n…` : source;
  const html = parser.parse(text, { async: false });
  const fragment = DOMPurify.sanitize(html, {
    FORBID_ATTR: ['style'],
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select'],
    RETURN_DOM_FRAGMENT: true,
    USE_PROFILES: { html: true },
  });
  for (const a of fragment.querySelectorAll('a[href]')) {
    a.setAttribute('rel', 'noopener noreferrer');
    a.setAttribute('target', '_blank');
  }
  const box = document.createElement('div');
  box.append(fragment);
  return box.innerHTML;
}
