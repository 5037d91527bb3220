// The 405 table: every served path answers other methods with 405 and the Allow header it takes.
import type { Express } from "express";
import { ProblemError } from "./problem.ts";
import { contextOf } from "./request-context.ts";
import { openApiPath } from "./routes.ts";

/** `methodsByPath`: Express path → the methods served on it (upper case); GET implies HEAD. */
export function answerOtherMethodsWith405(app: Express, methodsByPath: ReadonlyMap<string, string[]>): void {
  for (const [path, methods] of methodsByPath) {
    const allow = [...new Set([...methods, ...(methods.includes("GET") ? ["HEAD"] : [])])].join(", ");
    app.all(path, (_request, response) => {
      contextOf(response).route = openApiPath(path);
      throw new ProblemError({
        status: 405,
        kind: "method-not-allowed",
        title: "Method Not Allowed",
        detail: `this path takes ${allow}`,
        headers: { Allow: allow },
      });
    });
  }
}
