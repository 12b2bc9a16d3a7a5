import { writeFileSync } from 'node:fs';
import { context, trace, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import { BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

/**
 * The run itself as an OpenTelemetry trace: a root span per run, a child per phase and per fault
 * (with inject, verify and heal under it), and one per detection. Always written as OTLP JSON
 * into the run folder; also exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. The provider is the run's own, never the global one.
 */
export class RunTrace {
  readonly #provider: TracerProvider;
  readonly #memory = new InMemorySpanExporter();
  readonly #tracer: Tracer;
  readonly root: Span;
  readonly exporting: boolean;

  constructor(attributes: Attributes, options: { endpoint?: string } = {}) {
    const processors: SpanProcessor[] = [new SimpleSpanProcessor({ exporter: this.#memory })];
    const endpoint = options.endpoint ?? process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    this.exporting = endpoint !== undefined && endpoint !== '';
    if (this.exporting) {
      const url = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${endpoint!.replace(/\/$/, '')}/v1/traces`;
      processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: options.endpoint ? `${options.endpoint.replace(/\/$/, '')}/v1/traces` : url }) }));
    }
    this.#provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'moat', ...attributes }), spanProcessors: processors });
    this.#tracer = this.#provider.getTracer('moat');
    this.root = this.#tracer.startSpan(`moat run ${String(attributes['moat.scenario'] ?? '')}`.trim(), { attributes });
  }

  /** Starts a span under `parent` (default: the run). */
  start(name: string, attributes: Attributes = {}, parent: Span = this.root, startTime?: number): Span {
    return this.#tracer.startSpan(name, { attributes, ...(startTime === undefined ? {} : { startTime }) }, trace.setSpan(context.active(), parent));
  }

  static fail(span: Span, error: unknown): void {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }

  /** Ends the run's span, writes every span as OTLP JSON to `file`, and flushes any exporter. */
  async finish(file: string, status: string): Promise<number> {
    this.root.setAttribute('moat.status', status);
    if (status !== 'completed') this.root.setStatus({ code: SpanStatusCode.ERROR, message: status });
    this.root.end();
    const spans = this.#memory.getFinishedSpans();
    const body = JsonTraceSerializer.serializeRequest(spans);
    if (body) writeFileSync(file, Buffer.from(body));
    await this.#provider.shutdown();
    return spans.length;
  }
}
