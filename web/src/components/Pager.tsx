import { ChevronLeft, ChevronRight } from 'lucide-react';

import { Button } from './Button';

/** PagerProps drive cursor pagination: page is 1-based, next exists while the server sends a cursor. */
export interface PagerProps {
  hasNext: boolean;
  onNext: () => void;
  onPrev: () => void;
  page: number;
}

/** Pager moves between pages of a cursor-paged list. */
export function Pager({ hasNext, onNext, onPrev, page }: PagerProps) {
  if (page === 1 && !hasNext) return null;
  return (
    <nav aria-label="Pagination" className="flex items-center justify-end gap-2 pt-3 text-sm text-zinc-500">
      <span>Page {page}</span>
      <Button disabled={page <= 1} icon={<ChevronLeft className="size-4" />} onClick={onPrev} size="sm">
        Previous
      </Button>
      <Button disabled={!hasNext} onClick={onNext} size="sm">
        Next
        <ChevronRight className="size-4" />
      </Button>
    </nav>
  );
}
