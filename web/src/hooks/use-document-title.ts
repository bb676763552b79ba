import { useEffect } from 'react';

/** PRODUCT is the product's name, as the header and every document title show it. */
export const PRODUCT = 'ConcertMaster';

/** documentTitle is a page's document title: "Workflows · ConcertMaster", or the product alone. */
export function documentTitle(page?: string | null): string {
  const p = page?.trim();
  return p ? `${p} · ${PRODUCT}` : PRODUCT;
}

/** useDocumentTitle names the browser tab after the page while it is shown. */
export function useDocumentTitle(page?: string | null): void {
  const title = documentTitle(page);
  useEffect(() => {
    document.title = title;
  }, [title]);
}
