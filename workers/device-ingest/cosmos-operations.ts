// Runs a list of Cosmos item operations as one bulk request or one request each, with results in one shape.
import type { Container, OperationInput } from "@azure/cosmos";
import { toFailure, type OperationFailure } from "./dependency-errors.ts";

export type WriteMode = "bulk" | "per-event";

/**
 * Operations per bulk request: the service takes at most 100 per partition key range per request, so 100 in all
 * is always accepted. (`executeBulkOperations` would split for us, but it polls for completion every 1000 ms, which
 * puts a second of latency on every batch of a consumer that waits for durability before checkpointing.)
 */
const BULK_CHUNK = 100;
/** Bulk requests in flight at once per call: a batch of 500 goes out as 5 parallel requests. */
const BULK_CONCURRENCY = 5;

export interface OperationResult {
  /** Set when the operation succeeded (2xx) or answered a plain 404 to a read. */
  statusCode?: number;
  resourceBody?: Record<string, unknown>;
  eTag?: string;
  requestCharge: number;
  failure?: OperationFailure;
}

async function pointOperation(container: Container, op: OperationInput): Promise<OperationResult> {
  try {
    switch (op.operationType) {
      case "Upsert": {
        const r = await container.items.upsert(op.resourceBody);
        return { statusCode: r.statusCode, eTag: r.etag, requestCharge: r.requestCharge };
      }
      case "Create": {
        const r = await container.items.create(op.resourceBody);
        return { statusCode: r.statusCode, eTag: r.etag, requestCharge: r.requestCharge };
      }
      case "Read": {
        const r = await container.item(op.id, op.partitionKey).read<Record<string, unknown>>();
        if (r.statusCode === 404) {
          return { requestCharge: r.requestCharge, failure: toFailure({ code: 404, message: "not found" }) };
        }
        return {
          statusCode: r.statusCode,
          eTag: r.etag,
          requestCharge: r.requestCharge,
          ...(r.resource ? { resourceBody: r.resource } : {}),
        };
      }
      case "Replace": {
        const r = await container
          .item(op.id, op.partitionKey)
          .replace(
            op.resourceBody,
            op.ifMatch ? { accessCondition: { type: "IfMatch", condition: op.ifMatch } } : undefined,
          );
        return { statusCode: r.statusCode, eTag: r.etag, requestCharge: r.requestCharge };
      }
      default:
        throw new Error(`operation ${op.operationType} is not used here`);
    }
  } catch (error) {
    return { requestCharge: 0, failure: toFailure(error) };
  }
}

/**
 * Executes `ops` against `container`: bulk requests of up to 100 operations (items.bulk, partition key on every
 * operation), or one point request each. Never throws: a request that fails as a whole (outage, missing container)
 * fails each of its operations with the same failure, and the caller decides per operation.
 */
export async function executeOperations(
  container: Container,
  ops: OperationInput[],
  mode: WriteMode,
): Promise<OperationResult[]> {
  if (ops.length === 0) return [];
  if (mode === "per-event") {
    const results: OperationResult[] = [];
    for (const op of ops) results.push(await pointOperation(container, op));
    return results;
  }
  const results: OperationResult[] = new Array<OperationResult>(ops.length);
  const chunks: number[] = [];
  for (let start = 0; start < ops.length; start += BULK_CHUNK) chunks.push(start);
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const start = chunks[next++]!;
      const chunk = ops.slice(start, start + BULK_CHUNK);
      try {
        const responses = await container.items.bulk(chunk, { continueOnError: true });
        responses.forEach((response, i) => {
          results[start + i] =
            response.statusCode < 400
              ? {
                  statusCode: response.statusCode,
                  requestCharge: response.requestCharge ?? 0,
                  ...(response.eTag ? { eTag: response.eTag } : {}),
                  ...(response.resourceBody ? { resourceBody: response.resourceBody } : {}),
                }
              : {
                  requestCharge: response.requestCharge ?? 0,
                  failure: toFailure({ code: response.statusCode, message: `status ${response.statusCode}` }),
                };
        });
      } catch (error) {
        const failure = toFailure(error);
        chunk.forEach((_, i) => (results[start + i] = { requestCharge: 0, failure }));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BULK_CONCURRENCY, chunks.length) }, worker));
  return results;
}
