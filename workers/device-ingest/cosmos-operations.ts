// Runs a list of Cosmos item operations as one bulk request or one request each, with results in one shape.
import type { Container, OperationInput } from "@azure/cosmos";
import { toFailure, type OperationFailure } from "./dependency-errors.ts";

export type WriteMode = "bulk" | "per-event";

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
 * Executes `ops` against `container`. Never throws: a request that fails as a whole (outage, missing container)
 * fails every operation with the same failure, and the caller decides per operation.
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
  try {
    const bulk = await container.items.executeBulkOperations(ops);
    return bulk.map((result) => {
      const response = result.response;
      if (response && response.statusCode < 400 && !result.error) {
        return {
          statusCode: response.statusCode,
          requestCharge: response.requestCharge ?? 0,
          ...(response.eTag ? { eTag: response.eTag } : {}),
          ...(response.resourceBody ? { resourceBody: response.resourceBody } : {}),
        };
      }
      const failure = toFailure(
        result.error ?? {
          code: response?.statusCode,
          message: `status ${response?.statusCode ?? "unknown"}`,
        },
      );
      return { requestCharge: response?.requestCharge ?? 0, failure };
    });
  } catch (error) {
    const failure = toFailure(error);
    return ops.map(() => ({ requestCharge: 0, failure }));
  }
}
