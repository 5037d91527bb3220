// A HandlerContext for calling a worker's handler directly in a test.
import { pino } from "pino";
import type { HandlerContext } from "../../workers/sqs-runtime/sqs-worker.ts";

export function handlerContext(stages: string[] = []): HandlerContext {
  return {
    logger: pino({ level: "silent" }),
    attempt: 1,
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    messageId: "test",
    observeStage: (stage) => stages.push(stage),
  };
}
