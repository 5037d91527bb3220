// Checks HTTP answers against a served OpenAPI 3.1 document: the status is documented for the operation, and the
// content type, the body (JSON Schema, ajv) and the headers are what the document says; no undocumented API header.
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";

type Json = Record<string, unknown>;

export interface Answer {
  method: string;
  path: string;
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Headers every answer carries that are not part of the API's contract: HTTP transport, and the generic security
 * headers helmet sets on every answer. Anything else must be documented for the answer it appears on.
 */
const TRANSPORT_AND_SECURITY_HEADERS = new Set([
  "connection",
  "content-length",
  "content-type",
  "date",
  "keep-alive",
  "transfer-encoding",
  "vary",
  "content-security-policy",
  "cross-origin-opener-policy",
  "cross-origin-resource-policy",
  "origin-agent-cluster",
  "referrer-policy",
  "strict-transport-security",
  "x-content-type-options",
  "x-dns-prefetch-control",
  "x-download-options",
  "x-frame-options",
  "x-permitted-cross-domain-policies",
  "x-xss-protection",
]);

export class OpenApiContract {
  readonly document: Json;
  readonly #ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  readonly #compiled = new Map<string, ValidateFunction>();
  /** `operationId status` of every answer checked, for coverage assertions. */
  readonly seen = new Set<string>();

  constructor(document: Json) {
    this.document = document;
  }

  #deref(value: unknown): Json {
    let current = value as Json;
    while (typeof current.$ref === "string") {
      current = current.$ref
        .replace(/^#\//, "")
        .split("/")
        .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
        .reduce<Json>((node, part) => node[part] as Json, this.document);
    }
    return current;
  }

  /** A validator of `schema`, whose `#/components/...` references resolve in the document. */
  #validator(key: string, schema: unknown): ValidateFunction {
    let validate = this.#compiled.get(key);
    if (!validate) {
      validate = this.#ajv.compile({
        ...(schema as Json),
        $id: `https://contract.test/${this.#compiled.size}`,
        components: this.document.components,
      });
      this.#compiled.set(key, validate);
    }
    return validate;
  }

  /** The path template and operations documented for a concrete path, or undefined. */
  #pathItem(path: string): [string, Record<string, Json>] | undefined {
    const paths = this.document.paths as Record<string, Record<string, Json>>;
    for (const [template, item] of Object.entries(paths)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      if (pattern.test(path)) return [template, item];
    }
    return undefined;
  }

  /** Throws an AssertionError-like Error naming every way `answer` differs from the document. */
  check(answer: Answer): void {
    const problems: string[] = [];
    const where = `${answer.method} ${answer.path} → ${answer.status}`;
    const found = this.#pathItem(answer.path.split("?")[0]!);
    if (!found) {
      // An unknown route: the API still answers a documented Problem.
      if (answer.status !== 404 && answer.status !== 429)
        problems.push("an unknown route must answer 404 (or 429)");
      this.#checkBody(
        answer,
        { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
        "Problem",
        problems,
      );
      if (problems.length) throw new Error(`${where}: ${problems.join("; ")}`);
      return;
    }
    const [template, item] = found;
    let operation = item[answer.method.toLowerCase()];
    if (!operation) {
      // A method the path does not take: the 405 every operation of the path documents.
      if (answer.status !== 405 && answer.status !== 429)
        problems.push(`${answer.method} is not documented on ${template}`);
      operation = Object.values(item)[0]!;
    }
    const responses = operation.responses as Record<string, unknown>;
    const documented =
      responses[String(answer.status)] ?? responses[`${String(answer.status)[0]}XX`] ?? responses.default;
    this.seen.add(`${String(operation.operationId)} ${answer.status}`);
    if (!documented) {
      problems.push(
        `status ${answer.status} is not documented (documented: ${Object.keys(responses).join(", ")})`,
      );
      throw new Error(`${where}: ${problems.join("; ")}`);
    }
    const response = this.#deref(documented);
    const key = `${template} ${String(operation.operationId)} ${answer.status}`;
    this.#checkBody(answer, response.content as Json | undefined, key, problems);
    const headers = (response.headers ?? {}) as Record<string, unknown>;
    const documentedNames = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
    for (const [name, value] of Object.entries(headers)) {
      const header = this.#deref(value);
      const actual = answer.headers.get(name);
      if (actual === null) {
        if (header.required === true) problems.push(`required header ${name} missing`);
        continue;
      }
      const validate = this.#validator(`header ${name}`, header.schema ?? {});
      if (!validate(actual))
        problems.push(`header ${name}: ${JSON.stringify(actual)} ${this.#ajv.errorsText(validate.errors)}`);
    }
    for (const [name] of answer.headers) {
      if (!TRANSPORT_AND_SECURITY_HEADERS.has(name) && !documentedNames.has(name)) {
        problems.push(`header ${name} is not documented for this answer`);
      }
    }
    if (problems.length) throw new Error(`${where}: ${problems.join("; ")}`);
  }

  #checkBody(answer: Answer, content: Json | undefined, key: string, problems: string[]): void {
    if (!content) {
      if (answer.text !== "") problems.push("a body where none is documented");
      return;
    }
    const mediaType = (answer.headers.get("content-type") ?? "").split(";")[0]!.trim();
    const media = content[mediaType] as Json | undefined;
    if (!media) {
      problems.push(
        `content type ${mediaType || "(none)"} is not documented (documented: ${Object.keys(content).join(", ")})`,
      );
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(answer.text);
    } catch {
      problems.push("the body is not JSON");
      return;
    }
    const validate = this.#validator(`${key} ${mediaType}`, media.schema ?? {});
    if (!validate(body)) problems.push(`body: ${this.#ajv.errorsText(validate.errors)}`);
  }
}
