import { renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { documentTitle, useDocumentTitle } from './use-document-title';

describe('documentTitle', () => {
  it.each([
    { page: 'Workflows', want: 'Workflows · ConcertMaster' },
    { page: '  Orders  ', want: 'Orders · ConcertMaster' },
    { page: '', want: 'ConcertMaster' },
    { page: undefined, want: 'ConcertMaster' },
  ])('names $page', ({ page, want }) => {
    expect(documentTitle(page)).toBe(want);
  });

  it('sets the tab title and follows the page', () => {
    const { rerender } = renderHook(({ page }) => useDocumentTitle(page), { initialProps: { page: 'Workflows' } });
    expect(document.title).toBe('Workflows · ConcertMaster');
    rerender({ page: 'Executions' });
    expect(document.title).toBe('Executions · ConcertMaster');
  });
});
