// A free TCP port on 127.0.0.1, for a server a test starts as a separate process.
export { anyFreePort as freePort } from "../../dev/stack/ports.ts";
