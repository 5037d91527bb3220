// The packages the bundle (scripts/bundle.ts) leaves in node_modules, and so the only ones the image keeps.
/**
 * pino-pretty (loaded by shared/logger.ts with require(), only when stdout is a terminal) stays out so that the roles
 * do not carry it, and import-in-the-middle (tracing's module hooks, loaded only with an OTLP endpoint) generates
 * imports of its own files by URL, so it cannot live inside a bundle. pino itself is bundled: its `transport` option
 * (a worker thread started from pino's files on disk) is not used. Everything else the roles load is in the bundle, which also means
 * the tracing hooks can wrap only what is loaded from outside it (node:http, node:https; fetch is traced through
 * diagnostics channels): in the image, Express, ioredis and AWS SDK library spans are absent, eventfleet's own spans
 * and the HTTP server and client spans are there.
 */
export const BUNDLE_EXTERNALS = ["pino-pretty", "import-in-the-middle"] as const;
