// Which spans may start a trace: incoming requests and our own entry points, never a background poll.
import {
  SpanKind,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Link,
} from "@opentelemetry/api";
import { SamplingDecision, type Sampler, type SamplingResult } from "@opentelemetry/sdk-trace";
import { ENTRY_POINT } from "./spans.ts";

/**
 * Wraps the configured sampler. A span without a parent is a trace root only when it is an incoming request
 * (SERVER) or a span of ours marked ENTRY_POINT; the instrumented clients' spans outside any trace (SQS long polls,
 * the relay's XREADGROUP loop, queue-depth reads) would otherwise be thousands of one-span traces.
 */
export class EntryPointSampler implements Sampler {
  readonly #inner: Sampler;

  constructor(inner: Sampler) {
    this.#inner = inner;
  }

  shouldSample(
    parent: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parentSpan = trace.getSpanContext(parent);
    const isRoot = !parentSpan || !isSpanContextValid(parentSpan);
    if (isRoot && kind !== SpanKind.SERVER && attributes[ENTRY_POINT] !== true) {
      return { decision: SamplingDecision.NOT_RECORD };
    }
    return this.#inner.shouldSample(parent, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `EntryPointSampler{${this.#inner.toString()}}`;
  }
}
