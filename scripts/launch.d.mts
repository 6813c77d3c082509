export declare function buildNeeded(root: string): string | null;
export declare function loadDotEnv(root: string, env?: Record<string, string | undefined>): boolean;
