// Child-process entry: delaying TCP proxies in front of local servers, so their CPU is not the measured process's.
// Usage: node bench/lib/latency-proxy-main.ts <one-way delay ms> <target port>...; prints {"ports":[...]} once listening.
import { TcpFaultProxy } from "../../test/support/tcp-fault-proxy.ts";

const [delay, ...targets] = process.argv.slice(2).map(Number);
if (delay === undefined || !Number.isFinite(delay) || targets.length === 0 || targets.some((p) => !p)) {
  process.stderr.write("usage: latency-proxy-main.ts <one-way delay ms> <target port>...\n");
  process.exit(2);
}
const proxies = targets.map((port) => new TcpFaultProxy(port, { oneWayDelayMs: delay }));
await Promise.all(proxies.map((p) => p.up()));
process.stdout.write(`${JSON.stringify({ ports: proxies.map((p) => p.port) })}\n`);
process.on("SIGTERM", () => void Promise.all(proxies.map((p) => p.close())).then(() => process.exit(0)));
