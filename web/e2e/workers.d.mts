export declare function e2eWorkers(): number;
export declare function workerEnv(name: string): string;
