// The packages the bundle (scripts/bundle.ts) leaves in node_modules, and so the only ones the image keeps.
/**
 * pino starts its pretty-printing transport (pino-pretty) from files on disk in a worker thread, which a bundle
 * cannot carry; everything else the roles load is inside the bundle.
 */
export const BUNDLE_EXTERNALS = ["pino", "pino-pretty"] as const;
