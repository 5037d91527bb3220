// Reads a partition's ownership and checkpoint records in the blob checkpoint store, so that only the recorded owner
// reads a partition and a checkpoint never moves backwards.
//
// The SDK alone does not ensure either: a replica paused past the ownership expiry (SIGSTOP, a long GC, a frozen
// node) still has its receiver when it wakes; the SDK re-creates a stolen receiver silently, and its checkpoint
// store writes without an etag. So before each batch and each checkpoint we read the ownership record (one HEAD),
// and a checkpoint is written only over an older one, conditional on the etag we read.
import type { PartitionContext, ReceivedEventData } from "@azure/event-hubs";
import type { ContainerClient } from "@azure/storage-blob";

/** Thrown from processEvents when another replica is recorded as owner: the SDK then closes the partition with
 * CloseReason.OwnershipLost (it recognises the code, as for a receiver stolen by an epoch receiver). */
export class OwnershipLostError extends Error {
  readonly code = "ReceiverDisconnectedError";
  readonly retryable = false;
  constructor(partitionId: string, owner: string) {
    super(`partition ${partitionId} is owned by ${owner || "nobody"} now; giving it up`);
    this.name = "OwnershipLostError";
  }
}

export type CheckpointOutcome = "written" | "not_owner" | "behind";

/** A blob call that does not answer within this fails (an unanswering store must not hold a partition). */
const BLOB_CALL_TIMEOUT_MS = 10_000;

export class PartitionOwnership {
  readonly #container: ContainerClient;
  readonly #ownerId: string;

  constructor(container: ContainerClient, ownerId: string) {
    this.#container = container;
    this.#ownerId = ownerId;
  }

  /** The blob names of BlobCheckpointStore (lower-cased namespace/hub/group), which KEDA reads too. */
  #blob(context: PartitionContext, type: "ownership" | "checkpoint") {
    const prefix = [context.fullyQualifiedNamespace, context.eventHubName, context.consumerGroup]
      .map((part) => part.toLowerCase())
      .join("/");
    return this.#container.getBlockBlobClient(`${prefix}/${type}/${context.partitionId}`);
  }

  /** The owner recorded for the partition now ("" when none). */
  async recordedOwner(context: PartitionContext): Promise<string> {
    try {
      const properties = await this.#blob(context, "ownership").getProperties({
        abortSignal: AbortSignal.timeout(BLOB_CALL_TIMEOUT_MS),
      });
      return properties.metadata?.ownerid ?? "";
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return "";
      throw error;
    }
  }

  /** Throws OwnershipLostError when the ownership record names another replica. */
  async assertOwner(context: PartitionContext): Promise<void> {
    const owner = await this.recordedOwner(context);
    if (owner !== this.#ownerId) throw new OwnershipLostError(context.partitionId, owner);
  }

  /**
   * Writes the checkpoint if we still own the partition and the stored checkpoint is older, conditional on the
   * stored one not changing in between (etag). The first checkpoint of a partition goes through the SDK.
   */
  async checkpoint(context: PartitionContext, event: ReceivedEventData): Promise<CheckpointOutcome> {
    if ((await this.recordedOwner(context)) !== this.#ownerId) return "not_owner";
    const blob = this.#blob(context, "checkpoint");
    let stored;
    try {
      stored = await blob.getProperties({ abortSignal: AbortSignal.timeout(BLOB_CALL_TIMEOUT_MS) });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
      await context.updateCheckpoint(event);
      return "written";
    }
    const storedSequence = Number(stored.metadata?.sequencenumber ?? -1);
    if (storedSequence >= event.sequenceNumber) return "behind";
    try {
      // The same two metadata fields BlobCheckpointStore writes (and KEDA's blobMetadata strategy reads).
      await blob.setMetadata(
        { sequencenumber: String(event.sequenceNumber), offset: String(event.offset) },
        { conditions: { ifMatch: stored.etag! }, abortSignal: AbortSignal.timeout(BLOB_CALL_TIMEOUT_MS) },
      );
    } catch (error) {
      // Someone wrote a checkpoint since we read it: theirs stands (we may be the stale one).
      if ((error as { statusCode?: number }).statusCode === 412) return "behind";
      throw error;
    }
    return "written";
  }
}
