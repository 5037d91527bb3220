#!/usr/bin/env node
// The eventfleet CLI. The sources are TypeScript run by Node's type stripping, which needs Node >= 22.18.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `eventfleet needs Node.js 22.18 or newer (it runs TypeScript directly); this is ${process.version}.\n` +
      "From a checkout, run it as `npx eventfleet ...` or through make: both use the Node 24 in node_modules/.bin.\n",
  );
  process.exit(2);
}
// With an OTLP endpoint set, the instrumentations are registered before any module they patch is loaded.
const { tracingRequested } = await import("../shared/telemetry/telemetry-config.ts");
if (tracingRequested(process.env)) {
  const { registerEventfleetInstrumentations } = await import("../shared/telemetry/instrumentations.ts");
  registerEventfleetInstrumentations();
}
const { main } = await import("../cli/main.ts");
await main(process.argv);
