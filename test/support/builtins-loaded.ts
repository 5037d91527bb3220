// Loaded with `node --import` into a role under test: at exit, writes the Node built-in modules the process loaded
// (process.moduleLoadList, which Node's types do not declare) to the file EVENTFLEET_TEST_BUILTINS_OUT names.
import { writeFileSync } from "node:fs";

const out = process.env.EVENTFLEET_TEST_BUILTINS_OUT;
const { moduleLoadList } = process as unknown as { moduleLoadList: string[] };
if (out) process.on("exit", () => writeFileSync(out, moduleLoadList.join("\n")));
