/**
 * node:http, loaded with require rather than an ES import. On Node 22 and later an ES import of
 * node:http reads each of its exports once, and three of them (WebSocket, CloseEvent,
 * MessageEvent) load undici: about 15 MB resident and 25 ms of start-up on Node 26, in every
 * command and in the proxy agent (docs/benchmarks.md). Import its types with `import type`.
 */
import type * as Http from 'node:http';
import { createRequire } from 'node:module';

export const http = createRequire(import.meta.url)('node:http') as typeof Http;
