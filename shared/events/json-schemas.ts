// Every event contract as JSON Schema, for producers in other languages (`eventfleet schema export <dir>`).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { cloudEventEnvelope } from "./cloudevent.ts";
import { deviceEvent } from "./device-event.ts";
import {
  inventoryRejectedEvent,
  inventoryReservedEvent,
  orderCancelledEvent,
  orderPlacedEvent,
  orderShippedEvent,
} from "./order-events.ts";

const contracts: Record<string, { title: string; schema: z.ZodType }> = {
  "cloudevent.schema.json": {
    title: "eventfleet CloudEvent envelope (structured mode)",
    schema: cloudEventEnvelope,
  },
  "order.placed.schema.json": { title: "order.placed", schema: orderPlacedEvent },
  "order.cancelled.schema.json": { title: "order.cancelled", schema: orderCancelledEvent },
  "inventory.reserved.schema.json": { title: "inventory.reserved", schema: inventoryReservedEvent },
  "inventory.rejected.schema.json": { title: "inventory.rejected", schema: inventoryRejectedEvent },
  "order.shipped.schema.json": { title: "order.shipped", schema: orderShippedEvent },
  "device-event.schema.json": { title: "Device event (Event Hubs body)", schema: deviceEvent },
};

/** File name → JSON text (stable, with a trailing newline), for writing and for the drift test. */
export function renderJsonSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [file, { title, schema }] of Object.entries(contracts)) {
    const json = {
      $id: `https://eventfleet.dev/schemas/${file}`,
      title,
      ...z.toJSONSchema(schema, { io: "input" }),
    };
    files.set(file, `${JSON.stringify(json, null, 2)}\n`);
  }
  return files;
}

export async function exportJsonSchemas(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, text] of renderJsonSchemas()) {
    await writeFile(join(dir, file), text);
    written.push(join(dir, file));
  }
  return written;
}
