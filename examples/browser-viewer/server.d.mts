// Types of server.mjs, for the TypeScript test that starts it.

/** Headers that make the page cross-origin isolated. */
export declare const ISOLATION_HEADERS: Readonly<Record<string, string>>;

/** Serves a folder (dist/ by default) on 127.0.0.1; port 0 picks a free one. */
export declare function startServer(options?: {
  root?: string;
  port?: number;
}): Promise<{ url: string; close: () => Promise<void> }>;
