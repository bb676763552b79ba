import { keepPreviousData, queryOptions, type QueryClient } from '@tanstack/react-query';

import type { components } from './api.gen';
import { request, requestBlob } from './http';
import { getLiveClient } from './live';
import { session, type TokenPairFromAPI } from './session';

// --- Types of the identity API (issue 8), generated from the OpenAPI document ------------------------

type Schemas = components['schemas'];

/** Role is a member's or an API key's role in a workspace. */
export type Role = Schemas['Member']['role'];

/** ROLES lists the roles from the weakest to the strongest. */
export const ROLES: readonly Role[] = ['viewer', 'editor', 'admin', 'owner'];

/** TenantFromAPI is one workspace of the signed-in user, with their role in it. */
export type TenantFromAPI = Schemas['Workspace'];

/** MeFromAPI is who the request is: a user (or an API key), the workspace and the role in it. */
export type MeFromAPI = Schemas['Me'];

/** MemberFromAPI is one member of the workspace. */
export type MemberFromAPI = Schemas['Member'];

/** ApiKeyFromAPI is an API key as listed: never the key itself. */
export type ApiKeyFromAPI = Omit<Schemas['APIKey'], 'key'>;

/** CreatedApiKeyFromAPI is a new key, with the secret the server shows only this once. */
export type CreatedApiKeyFromAPI = ApiKeyFromAPI & { key: string };

/** AuditEntryFromAPI is one entry of the audit log. */
export type AuditEntryFromAPI = Schemas['AuditEntry'];

/** Paged is one page of a cursor-paged list. */
export interface Paged<T> {
  items: T[];
  nextCursor: string | null;
}

/** AUDIT_ACTIONS are the actions the server records (for the filter). */
export const AUDIT_ACTIONS = [
  'auth.setup',
  'auth.login',
  'auth.login_failed',
  'auth.refresh',
  'auth.refresh_reused',
  'auth.logout',
  'auth.switch',
  'auth.password_changed',
  'member.added',
  'member.role_changed',
  'member.removed',
  'apikey.created',
  'apikey.revoked',
  'tenant.created',
  'workflow.created',
  'workflow.updated',
  'workflow.deleted',
  'workflow.activated',
  'workflow.deactivated',
  'workflow.pinned',
  'workflow.unpinned',
  'execution.started',
  'execution.canceled',
  'execution.retried',
] as const;

// --- Roles -----------------------------------------------------------------------------------------

/** roleRank orders roles: viewer 0 … owner 3; -1 for none. */
export function roleRank(role: string | null | undefined): number {
  return ROLES.indexOf(role as Role);
}

/** roleAtLeast reports whether role may do what min may. */
export function roleAtLeast(role: string | null | undefined, min: Role): boolean {
  const r = roleRank(role);
  return r >= 0 && r >= roleRank(min);
}

// --- Sign-in ---------------------------------------------------------------------------------------

/** fetchSetupStatus answers whether the server still needs its first user (GET /auth/setup). */
export async function fetchSetupStatus(): Promise<{ required: boolean }> {
  return (await request<{ required: boolean }>('/api/v1/auth/setup', { anonymous: true })).data;
}

/** login signs in with an e-mail and a password; the server sets the refresh cookie. */
export async function login(email: string, password: string): Promise<void> {
  const res = await request<TokenPairFromAPI>('/api/v1/auth/login', { anonymous: true, body: { email, password }, method: 'POST' });
  session.accept(res.data);
}

/** SetupInput is the first run's form: the owner and the first workspace. */
export interface SetupInput {
  email: string;
  name?: string;
  password: string;
  workspace?: string;
}

/** setupFirstRun creates the owner and names the first workspace, and signs them in. */
export async function setupFirstRun(input: SetupInput): Promise<void> {
  const body: SetupInput = { email: input.email, password: input.password };
  if (input.name?.trim()) body.name = input.name.trim();
  if (input.workspace?.trim()) body.workspace = input.workspace.trim();
  const res = await request<TokenPairFromAPI>('/api/v1/auth/setup', { anonymous: true, body, method: 'POST' });
  session.accept(res.data);
}

/**
 * signOut logs out on the server, forgets the token, closes the live connection and clears every
 * cached answer (they belong to the user who leaves).
 */
export async function signOut(queryClient: QueryClient): Promise<void> {
  await session.logout();
  getLiveClient().stop();
  queryClient.clear();
}

/**
 * switchWorkspace swaps the token for one of another workspace the user belongs to; the change of
 * workspace clears the cache and reconnects the live connection (followWorkspace). It resolves once
 * the new workspace's /auth/me is read.
 */
export async function switchWorkspace(queryClient: QueryClient, tenantId: string): Promise<void> {
  const res = await request<TokenPairFromAPI>('/api/v1/auth/switch', { body: { tenantId }, method: 'POST' });
  session.accept(res.data);
  await queryClient.fetchQuery(identityQueries.me());
}

/**
 * followWorkspace keeps the app on the session's workspace: whenever the token changes workspace (a
 * switch here, or in another tab of the browser, which shares the refresh cookie), every cached
 * answer of the previous one is dropped, who the user is is read again, and the live connection
 * reconnects with the new token. It returns the unsubscribe function.
 */
export function followWorkspace(queryClient: QueryClient): () => void {
  let last = session.tenantId();
  return session.subscribe(() => {
    const now = session.tenantId();
    if (now === null) {
      last = null;
      return;
    }
    if (last !== null && now !== last) {
      queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== 'auth' });
      void queryClient.resetQueries({ queryKey: identityQueries.all() });
      getLiveClient().reconnect();
    }
    last = now;
  });
}

/** createWorkspace makes a new workspace owned by the user (POST /tenants). */
export async function createWorkspace(name: string): Promise<TenantFromAPI> {
  return (await request<TenantFromAPI>('/api/v1/tenants', { body: { name }, method: 'POST' })).data;
}

/** changePassword changes the signed-in user's password. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  await request<undefined>('/api/v1/auth/password', { body: { currentPassword, newPassword }, method: 'PUT' });
}

// --- Members, API keys, audit --------------------------------------------------------------------

/** NewMember is the add-member form: an existing user's e-mail, or a new user with a password. */
export interface NewMember {
  email: string;
  name?: string;
  password?: string;
  role: Role;
}

/** addMember adds a user to the workspace (creating them when a password is given). */
export async function addMember(m: NewMember): Promise<MemberFromAPI> {
  const body: NewMember = { email: m.email.trim(), role: m.role };
  if (m.name?.trim()) body.name = m.name.trim();
  if (m.password) body.password = m.password;
  return (await request<MemberFromAPI>('/api/v1/members', { body, method: 'POST' })).data;
}

/** changeMemberRole sets a member's role. */
export async function changeMemberRole(userId: string, role: Role): Promise<MemberFromAPI> {
  return (await request<MemberFromAPI>(`/api/v1/members/${encodeURIComponent(userId)}`, { body: { role }, method: 'PATCH' })).data;
}

/** removeMember takes a member out of the workspace. */
export async function removeMember(userId: string): Promise<void> {
  await request<undefined>(`/api/v1/members/${encodeURIComponent(userId)}`, { method: 'DELETE' });
}

/** NewApiKey is the create-key form; expiresAt is an RFC 3339 time. */
export interface NewApiKey {
  expiresAt?: string;
  name: string;
  role: Role;
}

/** createApiKey makes a key; the answer carries the secret, shown once. */
export async function createApiKey(k: NewApiKey): Promise<CreatedApiKeyFromAPI> {
  const body: NewApiKey = { name: k.name.trim(), role: k.role };
  if (k.expiresAt) body.expiresAt = k.expiresAt;
  return (await request<CreatedApiKeyFromAPI>('/api/v1/api-keys', { body, method: 'POST' })).data;
}

/** revokeApiKey revokes a key for good. */
export async function revokeApiKey(id: string): Promise<void> {
  await request<undefined>(`/api/v1/api-keys/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** AuditFilters filter the audit log; since and until are RFC 3339 times. */
export interface AuditFilters {
  action?: string;
  actor?: string;
  since?: string;
  targetId?: string;
  targetType?: string;
  until?: string;
}

/** exportAudit downloads the audit log, filtered, as JSON lines. */
export async function exportAudit(filters: AuditFilters): Promise<Blob> {
  return requestBlob('/api/v1/audit/export', { query: { ...filters } }, 'application/x-ndjson');
}

interface PageBody<T> {
  items?: T[] | null;
  nextCursor?: string | null;
}

const page = <T>(b: PageBody<T>): Paged<T> => ({ items: b.items ?? [], nextCursor: b.nextCursor ?? null });

/** identityQueries holds the query factories of who the user is and what the workspace holds. */
export const identityQueries = {
  all: () => ['auth'] as const,
  apiKeys: (params: { cursor?: string; includeRevoked: boolean; limit?: number }) =>
    queryOptions({
      placeholderData: keepPreviousData,
      queryFn: async ({ signal }) =>
        page(
          (
            await request<PageBody<ApiKeyFromAPI>>('/api/v1/api-keys', {
              query: { cursor: params.cursor, includeRevoked: params.includeRevoked || undefined, limit: params.limit ?? 50 },
              signal,
            })
          ).data,
        ),
      queryKey: ['api-keys', params] as const,
    }),
  audit: (params: AuditFilters & { cursor?: string; limit?: number }) =>
    queryOptions({
      placeholderData: keepPreviousData,
      queryFn: async ({ signal }) =>
        page((await request<PageBody<AuditEntryFromAPI>>('/api/v1/audit', { query: { ...params, limit: params.limit ?? 50 }, signal })).data),
      queryKey: ['audit', params] as const,
    }),
  me: () =>
    queryOptions({
      queryFn: async ({ signal }) => {
        const me = (await request<MeFromAPI>('/api/v1/auth/me', { signal })).data;
        session.setRole(me.role);
        return me;
      },
      queryKey: [...identityQueries.all(), 'me'] as const,
      staleTime: 60_000,
    }),
  members: (params: { cursor?: string; limit?: number }) =>
    queryOptions({
      placeholderData: keepPreviousData,
      queryFn: async ({ signal }) =>
        page((await request<PageBody<MemberFromAPI>>('/api/v1/members', { query: { cursor: params.cursor, limit: params.limit ?? 50 }, signal })).data),
      queryKey: ['members', params] as const,
    }),
};
