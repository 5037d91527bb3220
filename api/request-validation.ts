// Parsing a request part with its zod schema: a 400 problem naming each offending field path, or the value.
import type { z } from "zod";
import { ProblemError, type FieldError } from "./problem.ts";

function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({ path: path ? `${path}.${key}` : key, message: "unknown field" }));
    }
    return [{ path, message: issue.message }];
  });
}

/** `value` parsed by `schema`, or a 400 `validation-failed` problem; `what` names the part (body, header). */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ProblemError({
      status: 400,
      kind: "validation-failed",
      title: "Bad Request",
      detail: `the ${what} is not valid; see errors`,
      errors: fieldErrors(result.error),
    });
  }
  return result.data;
}
