import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDir } from '../core/testing.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { SeriesStore } from './series-store.ts';
import { OtlpReceiver, MAX_BODY_BYTES } from './otlp-receiver.ts';
import { RunTrace } from './run-trace.ts';

const epochMs = Date.now();

async function receiver(store = new SeriesStore()): Promise<OtlpReceiver> {
  return OtlpReceiver.start({ host: '127.0.0.1', store, epochMs: () => epochMs });
}

/** The real Node SDK sends a parent span and a failing child through the given exporter. */
async function sendSpans(exporter: JsonTraceExporter | ProtoTraceExporter, service: string): Promise<void> {
  const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': service }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const tracer = provider.getTracer('test');
  const parent = tracer.startSpan('POST /transfer', { attributes: { 'http.route': '/transfer', 'http.status_code': 500, retry: true } });
  const child = tracer.startSpan('redis GET', {}, trace.setSpan(context.active(), parent));
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
  child.end();
  parent.end();
  await provider.forceFlush();
  await provider.shutdown();
}

for (const [format, Exporter] of [['JSON', JsonTraceExporter], ['protobuf', ProtoTraceExporter]] as const) {
  test(`spans from the OpenTelemetry Node SDK over OTLP/HTTP ${format} keep names, parents, attributes and errors`, async () => {
    const otlp = await receiver();
    try {
      await sendSpans(new Exporter({ url: `${otlp.url}/v1/traces` }), `ledger-${format}`);
      assert.equal(otlp.spans.length, 2);
      const parent = otlp.spans.find((s) => s.name === 'POST /transfer')!;
      const child = otlp.spans.find((s) => s.name === 'redis GET')!;
      assert.equal(parent.service, `ledger-${format}`);
      assert.deepEqual(parent.attributes, { 'http.route': '/transfer', 'http.status_code': 500, retry: true });
      assert.equal(child.parentSpanId, parent.spanId);
      assert.equal(child.traceId, parent.traceId);
      assert.match(parent.traceId, /^[0-9a-f]{32}$/);
      assert.deepEqual([parent.error, child.error], [false, true]);
      assert.ok(Math.abs(parent.startMs) < 60_000 && parent.endMs >= parent.startMs, `times on the run clock: ${parent.startMs}..${parent.endMs}`);
    } finally {
      await otlp.close();
    }
  });
}

for (const [format, Exporter] of [['JSON', JsonMetricExporter], ['protobuf', ProtoMetricExporter]] as const) {
  test(`metrics from the OpenTelemetry Node SDK over OTLP/HTTP ${format} become series`, async () => {
    const store = new SeriesStore();
    const otlp = await receiver(store);
    try {
      const reader = new PeriodicExportingMetricReader({ exporter: new Exporter({ url: `${otlp.url}/v1/metrics` }), exportIntervalMillis: 3_600_000 });
      const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'ledger' }), readers: [reader] });
      const meter = provider.getMeter('test');
      meter.createCounter('http.requests').add(7, { route: '/transfer' });
      const latency = meter.createHistogram('http.latency', { unit: 'ms' });
      for (let i = 1; i <= 100; i++) latency.record(i < 100 ? 3 : 900, { route: '/transfer' });
      meter.createGauge('breaker.state').record(1, { dependency: 'redis' });
      await provider.forceFlush();
      await provider.shutdown();
      const series = Object.fromEntries(store.snapshot().map((s) => [s.name, s]));
      assert.deepEqual(series['otel_http_requests']!.labels, { service: 'ledger', route: '/transfer' });
      assert.equal(series['otel_http_requests']!.v[0], 7);
      assert.equal(series['otel_breaker_state']!.v[0], 1);
      const p99 = series['otel_http_latency:p99']!.v[0]!;
      assert.ok(p99 > 2 && p99 <= 10, `p99 ${p99} lies in the bucket that holds 99 of 100 points`);
      assert.ok(otlp.metricPoints >= 3);
    } finally {
      await otlp.close();
    }
  });
}

test('a request the receiver cannot read is refused with 400, and other paths with 404', async () => {
  const otlp = await receiver();
  try {
    const bad = await fetch(`${otlp.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: new Uint8Array([0x0a, 0xff, 0xff]) });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^cannot read this OTLP request: truncated/);
    assert.equal((await fetch(`${otlp.url}/v1/logs`, { method: 'POST', body: '{}' })).status, 404);
  } finally {
    await otlp.close();
  }
});

/** Sends raw bytes and closes the connection at once with a reset, as a broken client would. */
async function sendAndReset(url: string, raw: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(raw);
  socket.resetAndDestroy();
}

test('a client that resets mid-body does not take the receiver (or the run) down', async () => {
  const store = new SeriesStore();
  const otlp = await receiver(store);
  try {
    for (let i = 0; i < 5; i++) {
      await sendAndReset(otlp.url, 'POST /v1/metrics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"resourceM');
    }
    // the receiver still takes a good request afterwards
    const ok = await fetch(`${otlp.url}/v1/metrics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceMetrics: [] }) });
    assert.equal(ok.status, 200);
  } finally {
    await otlp.close();
  }
});

test('bodies beyond the limit are refused with 413, before and after gzip; malformed messages with 400', async () => {
  const otlp = await receiver();
  try {
    const declared = await sendRaw(otlp.url, `POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`);
    assert.match(declared, /^HTTP\/1\.1 413/);
    assert.match(declared, /exceeds the limit of 8388608/);
    // a gzip bomb: 64 MiB of zeros in about 64 KB
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const inflated = await fetch(`${otlp.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    assert.equal(inflated.status, 413);
    assert.match(await inflated.text(), /the inflated body exceeds the limit of 33554432 bytes/);
    for (const body of ['[1]', '{"resourceSpans": 5}', '{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}', 'null']) {
      const response = await fetch(`${otlp.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(response.status, 400, body);
    }
    const notGzip = await fetch(`${otlp.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: '{}' });
    assert.equal(notGzip.status, 400);
  } finally {
    await otlp.close();
  }
});

/** Sends raw bytes and reads the whole answer (the server closes the connection). */
async function sendRaw(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.write(raw);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

test("moat's run trace goes over OTLP when an endpoint is set, and is always written as OTLP JSON", async (t) => {
  const otlp = await receiver();
  try {
    const runTrace = new RunTrace({ 'moat.scenario': 'x', 'moat.seed': 1 }, { endpoint: otlp.url });
    const fault = runTrace.start('fault cut', { 'moat.fault.id': 'cut' });
    runTrace.start('inject cut', {}, fault).end();
    fault.end();
    const file = join(tempDir(t, 'trace'), 'otel-trace.json');
    assert.equal(await runTrace.finish(file, 'completed'), 3);
    assert.deepEqual(otlp.spans.map((s) => s.name).sort(), ['fault cut', 'inject cut', 'moat run x']);
    assert.equal(otlp.spans.find((s) => s.name === 'inject cut')!.parentSpanId, otlp.spans.find((s) => s.name === 'fault cut')!.spanId);
    const written = JSON.parse(readFileSync(file, 'utf8')) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] };
    assert.equal(written.resourceSpans[0]!.scopeSpans[0]!.spans.length, 3);
  } finally {
    await otlp.close();
  }
});

test('traces and metrics from the OpenTelemetry Go SDK (a program built here) arrive over OTLP/HTTP protobuf', { timeout: 300_000 }, async (t) => {
  const { execFileSync } = await import('node:child_process');
  const source = new URL('./testdata/otel-go/', import.meta.url).pathname;
  const binary = join(tempDir(t, 'otel-go'), 'otel-go');
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: source, stdio: 'pipe', timeout: 280_000 });
  const store = new SeriesStore();
  const otlp = await receiver(store);
  try {
    const { spawn } = await import('node:child_process');
    const child = spawn(binary, [], { env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    const parent = otlp.spans.find((s) => s.name === 'POST /transfer');
    const child2 = otlp.spans.find((s) => s.name === 'redis GET');
    assert.ok(parent && child2, JSON.stringify(otlp.spans));
    assert.equal(parent.service, 'ledger-go');
    assert.equal(parent.attributes['http.route'], '/transfer');
    assert.equal(child2.parentSpanId, parent.spanId);
    assert.equal(child2.error, true);
    const series = Object.fromEntries(store.snapshot().map((s) => [s.name, s]));
    assert.equal(series['otel_http_requests']!.v[0], 5);
    assert.deepEqual(series['otel_breaker_state']!.labels, { service: 'ledger-go', dependency: 'redis' });
    assert.equal(series['otel_breaker_state']!.v[0], 2);
  } finally {
    await otlp.close();
  }
});
