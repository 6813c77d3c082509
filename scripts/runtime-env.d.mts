export declare const GATEWAY_RUNTIME_ENV: Readonly<Record<string, string>>;
