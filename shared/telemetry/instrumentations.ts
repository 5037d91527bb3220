// The kept OpenTelemetry instrumentation packages (HTTP, Express, ioredis, AWS SDK, fetch, Azure SDK), registered
// before the role's modules load. Loaded only when tracing is on (bin/eventfleet.js), so a process without an
// endpoint neither pays for them nor has its modules wrapped.
import * as azureCoreTracing from "@azure/core-tracing";
import { AzureSdkInstrumentation } from "@azure/opentelemetry-instrumentation-azure-sdk";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { AwsInstrumentation } from "@opentelemetry/instrumentation-aws-sdk";
import { ExpressInstrumentation } from "@opentelemetry/instrumentation-express";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { register } from "import-in-the-middle/register-hooks.mjs";

/** Paths of the management server: scraped every few seconds, never worth a trace. */
const MANAGEMENT_PATHS = new Set(["/metrics", "/healthz", "/readyz"]);

/** Only these modules are wrapped by the ESM loader hook; everything else loads untouched. */
const HOOKED_MODULES = [
  "express",
  "ioredis",
  "http",
  "https",
  "node:http",
  "node:https",
  /^@smithy\//,
  /^@aws-sdk\//,
];

let registered = false;

export function registerEventfleetInstrumentations(): void {
  if (registered) return;
  registered = true;
  // Node 24's synchronous module hooks: modules imported (ESM) or required (CJS) from here on are patched in-thread.
  register({ include: HOOKED_MODULES });
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => MANAGEMENT_PATHS.has((request.url ?? "").split("?")[0] ?? ""),
        // A client call outside any trace (an SDK's poll) is not a trace of its own.
        requireParentforOutgoingSpans: true,
      }),
      new ExpressInstrumentation({ ignoreLayersType: ["middleware" as never] }),
      new IORedisInstrumentation({ requireParentSpan: true }),
      new AwsInstrumentation({ suppressInternalInstrumentation: true }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
    ],
  });
  useAzureSdkTracing();
}

/**
 * The Azure SDKs are ESM here: rather than wait for a loader hook, hand their one @azure/core-tracing module the
 * instrumenter the kept package supplies (what its hook does on load). From then on the Event Hubs producer puts
 * `Diagnostic-Id` on every event it sends, and Cosmos / Storage calls are client spans.
 */
export function useAzureSdkTracing(): void {
  for (const definition of new AzureSdkInstrumentation({ enabled: false }).getModuleDefinitions()) {
    definition.patch?.(azureCoreTracing, "1");
  }
}
