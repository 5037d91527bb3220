// The repository root, for tests and benchmarks that spawn `bin/eventfleet.js` or read files by path.
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
