/** OwnerSession answers a valid access token of the owner and their workspace. */
export type OwnerSession = () => Promise<{ accessToken: string; tenantId: string }>;

export declare const CHROMIUM: string;
export declare const CHROMIUM_ARGS: string[];
export declare const OWNER: { email: string; password: string };
export declare function requireChromium(): void;
export declare function signInOwner(baseURL: string, owner?: { email: string; password: string }): Promise<OwnerSession>;
export declare function signInContext(
  context: {
    request: {
      post: (url: string, options: { data: unknown; headers: Record<string, string> }) => Promise<{ ok(): boolean; status(): number; text(): Promise<string> }>;
    };
  },
  baseURL: string,
  owner: OwnerSession,
): Promise<void>;
export declare function startServer(options?: { env?: Record<string, string>; setup?: boolean }): Promise<{
  apiKey: string | null;
  baseURL: string;
  logs: () => string;
  owner: OwnerSession | null;
  restart: () => Promise<void>;
  stop: () => Promise<void>;
}>;
