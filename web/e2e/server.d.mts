export declare const CHROMIUM: string;
export declare const CHROMIUM_ARGS: string[];
export declare function requireChromium(): void;
export declare function startServer(): Promise<{ baseURL: string; logs: () => string; restart: () => Promise<void>; stop: () => Promise<void> }>;
