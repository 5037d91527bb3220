// The emulator's options in one place: each with its default and why, validated once at start.
import { readFile } from "node:fs/promises";
import { z } from "zod";

/** The consumer group every hub has, as in the service. */
export const DEFAULT_CONSUMER_GROUP = "$Default";
/** What the service advertises on sender links (Standard tier): the SDK sizes its batches from it. */
export const MAX_MESSAGE_SIZE = 1024 * 1024;
/** Receivers without an owner level allowed per partition and consumer group, as in the service. */
export const MAX_RECEIVERS_WITHOUT_OWNER_LEVEL = 5;
/** The key name in connection strings; any name is accepted, only the key is checked. */
export const SAS_KEY_NAME = "RootManageSharedAccessKey";
/** The key in connection strings when no key is configured: the emulator then accepts any token. */
export const DEFAULT_SAS_KEY = "emulator-key";

const hubName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/, "a hub name is letters, digits, '.', '_' and '-'");

const hubSchema = z.object({
  name: hubName,
  /** Partition count, 1–1024 (the service allows up to 1024 on dedicated tiers). */
  partitions: z.number().int().min(1).max(1024),
  /** Consumer groups besides `$Default`, which every hub has. */
  consumerGroups: z.array(z.string().min(1).max(50)).optional(),
});

const retentionSchema = z.object({
  /** Keep at most this many events per partition (oldest dropped first). Default: unlimited. */
  maxEvents: z.number().int().positive().optional(),
  /** Drop events enqueued longer ago than this. Default: never. */
  maxAgeMs: z.number().int().positive().optional(),
});

export const optionsSchema = z.object({
  /** TCP port; 0 picks a free one (what tests use). Default 5672, the AMQP port the SDK assumes. */
  port: z.number().int().min(0).max(65535).default(5672),
  /** Listen address. Default loopback: this is a development tool without TLS. */
  host: z.string().default("127.0.0.1"),
  hubs: z
    .array(hubSchema)
    .min(1, "configure at least one hub (e.g. --hub telemetry:4)")
    .refine((hubs) => new Set(hubs.map((hub) => hub.name.toLowerCase())).size === hubs.length, {
      message: "hub names must be unique (case-insensitively, as in the service)",
    }),
  /** Directory for the per-partition append-only logs. Default: in memory only. */
  dataDir: z.string().min(1).optional(),
  /** When set, CBS tokens must be signed with this key and unexpired (401 otherwise). */
  verifySasKey: z.string().min(1).optional(),
  retention: retentionSchema.default({}),
  /**
   * How events are handled: "splice" (default) copies the sender's bytes, writes only the service's
   * annotations and frames deliveries itself; "reencode" decodes and re-encodes every event on the way
   * in and out through rhea, the naive baseline that benchmarks compare with.
   */
  codec: z.enum(["splice", "reencode"]).default("splice"),
});

export type EventHubsEmulatorOptions = z.input<typeof optionsSchema>;
export type ResolvedOptions = z.output<typeof optionsSchema>;
export type HubOptions = z.output<typeof hubSchema>;

export class EmulatorOptionsError extends Error {
  override name = "EmulatorOptionsError";
}

/** Validates options and fills in defaults; the error names each bad field. */
export function resolveOptions(options: EventHubsEmulatorOptions): ResolvedOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "options"}: ${issue.message}`,
    );
    throw new EmulatorOptionsError(`invalid Event Hubs emulator options: ${problems.join("; ")}`);
  }
  return parsed.data;
}

/** Reads a JSON config file with the same shape as the options (all fields optional but `hubs`). */
export async function readConfigFile(path: string): Promise<Partial<EventHubsEmulatorOptions>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new EmulatorOptionsError(
      `cannot read the emulator config file ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const parsed = optionsSchema.partial().safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new EmulatorOptionsError(`invalid emulator config file ${path}: ${problems.join("; ")}`);
  }
  return value as Partial<EventHubsEmulatorOptions>;
}

/** Parses `name:partitions` (the CLI's --hub), e.g. `telemetry:4`. */
export function parseHubSpec(spec: string): { name: string; partitions: number } {
  const match = /^([^:]+):(\d+)$/.exec(spec.trim());
  if (!match) throw new EmulatorOptionsError(`--hub ${spec}: expected <name>:<partitions>, e.g. telemetry:4`);
  return { name: match[1]!, partitions: Number(match[2]) };
}
