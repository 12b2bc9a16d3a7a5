import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { percentile } from '../core/thresholds.ts';
import type { SeriesStore } from './series-store.ts';
import { decodeMetrics, decodeTraces } from './otlp-proto.ts';
import { histogramQuantile } from './prometheus-text.ts';

type Json = Record<string, unknown>;

/** A span a twin service sent, kept as evidence. Times in ms on the run clock. */
export interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startMs: number;
  endMs: number;
  error: boolean;
  attributes: Record<string, string | number | boolean>;
}

/** Flattens OTLP attributes (`[{ key, value: { stringValue } }]`) into a plain record. */
export function attributesOf(list: unknown): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const item of (Array.isArray(list) ? list : []) as { key: string; value?: Json }[]) {
    const v = item.value ?? {};
    if (v.stringValue !== undefined) out[item.key] = String(v.stringValue);
    else if (v.boolValue !== undefined) out[item.key] = Boolean(v.boolValue);
    else if (v.intValue !== undefined) out[item.key] = Number(v.intValue);
    else if (v.doubleValue !== undefined) out[item.key] = Number(v.doubleValue);
  }
  return out;
}

const MAX_SPANS = 100_000;
/** The largest request body taken, as sent (compressed or not) and after gzip is inflated. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
export const MAX_INFLATED_BYTES = 32 * 1024 * 1024;

const gunzipAsync = promisify(gunzip);

/** A request the receiver refuses, with the HTTP status it answers. */
class Refused extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * An OTLP/HTTP receiver (traces and metrics; JSON and protobuf; gzip or plain) for the run.
 * Metric points become series at once; spans are kept as evidence and summarised per second at
 * the end (`otel_spans_per_sec`, `otel_span_errors_per_sec`, `otel_span_p99_ms` per service and
 * span name). Listens on an address the twin's hosts reach: the run's bridge gateway.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  metricPoints = 0;
  droppedSpans = 0;
  readonly #server: Server;
  readonly #store: SeriesStore;
  readonly #epochMs: () => number;
  readonly #histograms = new Map<string, Map<number, number>>();

  private constructor(server: Server, store: SeriesStore, epochMs: () => number) {
    this.#server = server;
    this.#store = store;
    this.#epochMs = epochMs;
  }

  /** `epochMs` is read at each request: the run clock's zero may be set after the receiver starts. */
  static async start(options: { host: string; port?: number; store: SeriesStore; epochMs: () => number }): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    // Whatever a client sends, the run goes on: every error of a request ends that request only.
    const server = createServer((request, response) => {
      request.on('error', () => response.destroy());
      receiver!.#handle(request, response).catch(() => response.destroy());
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    // a client that trickles its body may hold a request for at most this long
    server.requestTimeout = 15_000;
    server.headersTimeout = 10_000;
    receiver = new OtlpReceiver(server, options.store, options.epochMs);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host, () => resolve());
    });
    return receiver;
  }

  get url(): string {
    const address = this.#server.address() as AddressInfo;
    return `http://${address.address}:${address.port}`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'POST' || (path !== '/v1/traces' && path !== '/v1/metrics')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('moat receives OTLP/HTTP on POST /v1/traces and /v1/metrics\n');
      return;
    }
    const protobuf = (request.headers['content-type'] ?? '').includes('protobuf');
    let message: Json;
    try {
      const body = await readBody(request);
      // gzip is inflated on the thread pool, never on the run's event loop, and only up to a cap
      const plain: Uint8Array = request.headers['content-encoding'] === 'gzip' ? await inflate(body) : body;
      message = protobuf
        ? (path === '/v1/traces' ? decodeTraces(plain) : decodeMetrics(plain))
        : (JSON.parse(Buffer.from(plain).toString('utf8')) as Json);
      if (message === null || typeof message !== 'object' || Array.isArray(message)) throw new Refused(400, 'expected a JSON object');
      if (path === '/v1/traces') this.ingestTraces(message);
      else this.ingestMetrics(message);
    } catch (error) {
      if (response.destroyed) return;
      const status = error instanceof Refused ? error.status : 400;
      // the rest of a refused body is not read: the connection closes after the answer
      response.on('finish', () => request.socket.destroy());
      response.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(`cannot read this OTLP request: ${(error as Error).message}\n`);
      return;
    }
    // an empty Export*ServiceResponse: full success
    if (protobuf) response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    else response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }

  #toRunMs(unixNano: unknown): number {
    const ns = BigInt(String(unixNano ?? '0'));
    return Number(ns / 1_000_000n) - this.#epochMs();
  }

  ingestTraces(message: Json): void {
    for (const resourceSpans of (message.resourceSpans ?? []) as Json[]) {
      const service = String(attributesOf((resourceSpans.resource as Json | undefined)?.attributes)['service.name'] ?? 'unknown');
      for (const scopeSpans of (resourceSpans.scopeSpans ?? []) as Json[]) {
        for (const span of (scopeSpans.spans ?? []) as Json[]) {
          if (this.spans.length >= MAX_SPANS) {
            this.droppedSpans++;
            continue;
          }
          const parent = span.parentSpanId ? String(span.parentSpanId) : '';
          this.spans.push({
            service, name: String(span.name ?? ''), traceId: String(span.traceId ?? ''), spanId: String(span.spanId ?? ''),
            ...(parent ? { parentSpanId: parent } : {}),
            startMs: this.#toRunMs(span.startTimeUnixNano), endMs: this.#toRunMs(span.endTimeUnixNano),
            error: Number((span.status as Json | undefined)?.code ?? 0) === 2, attributes: attributesOf(span.attributes),
          });
        }
      }
    }
  }

  ingestMetrics(message: Json): void {
    for (const resourceMetrics of (message.resourceMetrics ?? []) as Json[]) {
      const service = String(attributesOf((resourceMetrics.resource as Json | undefined)?.attributes)['service.name'] ?? 'unknown');
      for (const scopeMetrics of (resourceMetrics.scopeMetrics ?? []) as Json[]) {
        for (const metric of (scopeMetrics.metrics ?? []) as Json[]) {
          const name = `otel_${String(metric.name ?? 'metric').replace(/[^A-Za-z0-9_:]/g, '_')}`;
          const number = (metric.gauge ?? metric.sum) as Json | undefined;
          for (const point of (number?.dataPoints ?? []) as Json[]) {
            const labels = { service, ...stringLabels(point.attributes) };
            const value = point.asDouble !== undefined ? Number(point.asDouble) : Number(point.asInt ?? Number.NaN);
            this.#store.append(name, labels, this.#toRunMs(point.timeUnixNano), value);
            this.metricPoints++;
          }
          for (const point of ((metric.histogram as Json | undefined)?.dataPoints ?? []) as Json[]) {
            const labels = { service, ...stringLabels(point.attributes) };
            const bounds = ((point.explicitBounds ?? []) as number[]).map(Number);
            const counts = ((point.bucketCounts ?? []) as (string | number)[]).map(Number);
            // cumulative by upper bound, as the Prometheus helper expects
            const cumulative = new Map<number, number>();
            let running = 0;
            counts.forEach((count, i) => {
              running += count;
              cumulative.set(i < bounds.length ? bounds[i]! : Number.POSITIVE_INFINITY, running);
            });
            const key = name + JSON.stringify(labels);
            const previous = this.#histograms.get(key);
            this.#histograms.set(key, cumulative);
            const delta = previous && running >= (previous.get(Number.POSITIVE_INFINITY) ?? 0) ? previous : undefined;
            const p99 = histogramQuantile(0.99, delta, cumulative);
            if (p99 !== undefined) this.#store.append(`${name}:p99`, labels, this.#toRunMs(point.timeUnixNano), p99);
            this.metricPoints++;
          }
        }
      }
    }
  }

  /** Per-second span series, by the second each span ended in (stamped at that second's end). */
  spanSeries(): void {
    const buckets = new Map<string, { service: string; name: string; t: number; durations: number[]; errors: number }>();
    for (const span of this.spans) {
      const t = (Math.floor(span.endMs / 1000) + 1) * 1000;
      const key = `${span.service}\u0000${span.name}\u0000${t}`;
      let bucket = buckets.get(key);
      if (!bucket) buckets.set(key, (bucket = { service: span.service, name: span.name, t, durations: [], errors: 0 }));
      bucket.durations.push(span.endMs - span.startMs);
      if (span.error) bucket.errors++;
    }
    for (const b of [...buckets.values()].sort((x, y) => x.t - y.t)) {
      const labels = { service: b.service, span: b.name };
      this.#store.append('otel_spans_per_sec', labels, b.t, b.durations.length);
      this.#store.append('otel_span_errors_per_sec', labels, b.t, b.errors);
      this.#store.append('otel_span_p99_ms', labels, b.t, percentile(b.durations, 99));
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** The request body, refused with 413 beyond MAX_BODY_BYTES (declared or sent). */
async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new Refused(413, `a body of ${declared} bytes exceeds the limit of ${MAX_BODY_BYTES}`);
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    bytes += (chunk as Buffer).length;
    if (bytes > MAX_BODY_BYTES) throw new Refused(413, `the body exceeds the limit of ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function inflate(body: Buffer): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new Refused(413, `the inflated body exceeds the limit of ${MAX_INFLATED_BYTES} bytes`);
    throw new Refused(400, `not gzip: ${(error as Error).message}`);
  }
}

function stringLabels(attributes: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(attributesOf(attributes)).map(([k, v]) => [k.replace(/[^A-Za-z0-9_]/g, '_'), String(v)]));
}
