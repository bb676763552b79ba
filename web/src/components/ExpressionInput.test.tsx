import { screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { fakeApi, renderRoute } from '@test/render';

import { ExpressionInput, expressionEditorSettings, formatPreview } from './ExpressionInput';
import { ExpressionTargetContext, type ExpressionTarget } from './ExpressionScope';

beforeAll(() => {
  expressionEditorSettings.codeEditor = true;
});
afterAll(() => {
  expressionEditorSettings.codeEditor = false;
});
afterEach(() => {
  vi.unstubAllGlobals();
});

const target: ExpressionTarget = { executionId: 'e1', nodeId: 'tail', scope: () => ({ input: { total: 150 } }), workflowId: 'w1' };

function Field({ initial }: { initial: string }) {
  const [value, setValue] = useState(initial);
  return (
    <ExpressionTargetContext.Provider value={target}>
      <label htmlFor="f">Condition</label>
      <ExpressionInput id="f" onChange={setValue} value={value} />
      <output data-testid="value">{value}</output>
    </ExpressionTargetContext.Provider>
  );
}

// The editor's chunk loads on first use: slow on a loaded machine.
describe('ExpressionInput', { timeout: 30_000 }, () => {
  it('edits in CodeMirror, highlights the expression, labels it and previews its value against the last run', async () => {
    const calls = fakeApi([
      { body: { items: [{ doc: 's in upper case', name: 'upper', own: false, signature: 'upper(s string) string' }] }, path: '/api/v1/expressions/functions' },
      { body: { durationMs: 0.1, type: 'number', value: 150 }, method: 'POST', path: '/api/v1/expressions/evaluate' },
    ]);
    renderRoute(<Field initial="{{ input.total }}" />);
    // The text box stands in until the editor's chunk has loaded.
    await waitFor(() => expect(document.querySelector('.cm-content')).not.toBeNull(), { timeout: 15_000 });
    const box = screen.getByRole('textbox', { name: 'Condition' });
    expect(box).toHaveAttribute('contenteditable', 'true');
    expect(box).toHaveAttribute('data-expression', 'true');
    expect(box.querySelector('.cmx-variable')).toHaveTextContent('input');
    expect(box.querySelector('.cmx-brace')).toHaveTextContent('{{');
    expect(await screen.findByTestId('expression-preview-value', {}, { timeout: 5000 })).toHaveTextContent(/= 150\s*\(number\)/);
    expect(box).toHaveAttribute('aria-describedby', screen.getByTestId('expression-preview').id);
    const evaluate = calls.find((c) => c.method === 'POST');
    expect(evaluate?.body).toEqual({ executionId: 'e1', expression: '{{ input.total }}', nodeId: 'tail', workflowId: 'w1' });
  });

  it('shows the error of a bad expression in plain words', async () => {
    fakeApi([
      { body: { items: [] }, path: '/api/v1/expressions/functions' },
      {
        body: {
          durationMs: 0,
          error: { message: 'the expression after {{ is incomplete: input. needs a field name', position: { end: 9, start: 0 } },
          type: 'null',
          value: null,
        },
        method: 'POST',
        path: '/api/v1/expressions/evaluate',
      },
    ]);
    renderRoute(<Field initial="{{ input." />);
    expect(await screen.findByTestId('expression-preview-error')).toHaveTextContent('the expression after {{ is incomplete: input. needs a field name');
  });

  it('has no preview for plain text', async () => {
    const calls = fakeApi([]);
    renderRoute(<Field initial="plain" />);
    await screen.findByRole('textbox', { name: 'Condition' });
    await waitFor(() => expect(screen.queryByTestId('expression-preview')).toBeNull());
    expect(calls).toHaveLength(0);
  });
});

describe('formatPreview', () => {
  it.each([
    [{ durationMs: 0, type: 'string' as const, value: 'ada' }, '"ada"'],
    [{ durationMs: 0, type: 'object' as const, value: { a: 1 } }, '{"a":1}'],
    [{ durationMs: 0, type: 'null' as const, value: null }, 'null'],
    [{ durationMs: 0, truncated: true, type: 'string' as const, value: 'x'.repeat(300) }, `${'x'.repeat(200)}…`],
  ])('%j', (res, want) => {
    expect(formatPreview(res)).toBe(want);
  });
});
