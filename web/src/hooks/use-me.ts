import { useQuery } from '@tanstack/react-query';
import { useSyncExternalStore } from 'react';

import { identityQueries, roleAtLeast, type MeFromAPI, type Role } from '@services/identity';
import { session } from '@services/session';

/** useMe is who is signed in, in which workspace, with which role (undefined until read). */
export function useMe(): MeFromAPI | undefined {
  return useQuery(identityQueries.me()).data;
}

/** useRole is the signed-in user's role in the current workspace (null until read). */
export function useRole(): Role | null {
  return useMe()?.role ?? null;
}

/**
 * useCan reports whether the user's role is at least min. Until the role is read it answers false:
 * the UI shows what a role may do only once it knows the role (the server refuses anyway).
 */
export function useCan(min: Role): boolean {
  return roleAtLeast(useRole(), min);
}

/** useSessionTenant is the workspace the tab's token is for (changes when the user switches). */
export function useSessionTenant(): string | null {
  return useSyncExternalStore(
    session.subscribe,
    () => session.tenantId(),
    () => session.tenantId(),
  );
}
