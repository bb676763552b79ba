export declare const HELLO_PLUGIN: string;
export declare const REFUSED_PLUGIN: string;
export declare function refusedManifest(): Record<string, unknown>;
export declare function buildPluginDir(): string;
