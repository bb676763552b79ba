import { describe, expect, it } from 'vitest';

import { renderMarkdown } from './markdown';

/** dom parses rendered HTML so that tests look at elements, not at markup spelling. */
function dom(html: string): HTMLDivElement {
  const box = document.createElement('div');
  box.innerHTML = html;
  return box;
}

describe('renderMarkdown', () => {
  it('renders the Markdown node type docs use: headings, lists, code, fenced blocks and tables', () => {
    const box = dom(
      renderMarkdown(
        '## Configuration\n\n- `fields` maps names\n- **bold** and *em*\n\n```json\n{"a": 1}\n```\n\n| code | when |\n|---|---|\n| `not_array` | no array |\n',
      ),
    );
    expect(box.querySelector('h2')?.textContent).toBe('Configuration');
    expect([...box.querySelectorAll('li')].map((li) => li.textContent)).toEqual(['fields maps names', 'bold and em']);
    expect(box.querySelector('li code')?.textContent).toBe('fields');
    expect(box.querySelector('pre code')?.textContent).toBe('{"a": 1}\n');
    expect(box.querySelector('table td code')?.textContent).toBe('not_array');
  });

  it('keeps {{ expressions }} and angle brackets in code as text', () => {
    const box = dom(renderMarkdown('Use `{{ input.total > 100 }}` and `<RFC 3339>`.'));
    expect([...box.querySelectorAll('code')].map((c) => c.textContent)).toEqual(['{{ input.total > 100 }}', '<RFC 3339>']);
  });

  it('drops scripts, event handlers, styles, forms, iframes and javascript: links', () => {
    const box = dom(
      renderMarkdown(
        '<script>alert(1)</script>\n\n<img src="x" onerror="alert(2)">\n\n<p style="color:red" onclick="alert(3)">styled</p>\n\n' +
          '<form action="/x"><input name="q"></form>\n\n<iframe src="https://example.com"></iframe>\n\n[click](javascript:alert(4)) <svg><script>alert(5)</script></svg>',
      ),
    );
    const html = box.innerHTML;
    expect(box.querySelector('script, iframe, form, input, svg, [style], [onclick], [onerror]')).toBeNull();
    expect(html).not.toContain('alert');
    expect(box.querySelector('a')?.getAttribute('href')).toBeNull();
    expect(box.textContent).toContain('styled');
  });

  it('opens links in a new tab without a referrer', () => {
    const a = dom(renderMarkdown('See [the docs](https://example.com/docs).')).querySelector('a');
    expect(a?.getAttribute('href')).toBe('https://example.com/docs');
    expect(a?.getAttribute('target')).toBe('_blank');
    expect(a?.getAttribute('rel')).toBe('noopener noreferrer');
  });

  it('cuts a huge source instead of rendering all of it', () => {
    const html = renderMarkdown('x'.repeat(300 * 1024));
    expect(html.length).toBeLessThan(270 * 1024);
    expect(html).toContain('…');
  });
});
