// OTLP receiver ingestion: metric points per second that one receiver process (one core) turns
// into series, for the payloads the OpenTelemetry Node SDK sends (1000 gauge points per request),
// in JSON and in protobuf, replayed by a client in another process for 5 s each.
// Run: node bench/otlp-ingest.ts
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPMetricExporter as JsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OtlpReceiver, SeriesStore } from '../observe/index.ts';

const POINTS = 1000;

if (process.argv[2] === 'serve') {
  const store = new SeriesStore();
  const receiver = await OtlpReceiver.start({ host: '127.0.0.1', store, epochMs: () => Date.now() });
  process.send!({ url: receiver.url });
  process.on('message', () => process.send!({ points: receiver.metricPoints }));
} else {
  const payloads: Record<string, { body: Buffer; type: string }> = {};
  for (const [format, Exporter] of [['json', JsonMetricExporter], ['protobuf', ProtoMetricExporter]] as const) {
    // capture what the real SDK sends
    const captured = await new Promise<{ body: Buffer; type: string }>((resolve) => {
      const server = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (c: Buffer) => chunks.push(c));
        request.on('end', () => {
          response.end(format === 'json' ? '{}' : undefined);
          server.close();
          resolve({ body: Buffer.concat(chunks), type: String(request.headers['content-type']) });
        });
      }).listen(0, '127.0.0.1', async () => {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
        const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'bench' }), readers: [new PeriodicExportingMetricReader({ exporter: new Exporter({ url }), exportIntervalMillis: 3_600_000 })] });
        const gauge = provider.getMeter('bench').createGauge('queue.depth');
        for (let i = 0; i < POINTS; i++) gauge.record(i, { shard: String(i) });
        await provider.forceFlush();
        await provider.shutdown();
      });
    });
    payloads[format] = captured;
  }
  const child = fork(new URL(import.meta.url).pathname, ['serve']);
  const { url } = await new Promise<{ url: string }>((resolve) => child.once('message', (m) => resolve(m as { url: string })));
  const points = () => new Promise<number>((resolve) => { child.once('message', (m) => resolve((m as { points: number }).points)); child.send('count'); });
  for (const [format, payload] of Object.entries(payloads)) {
    const before = await points();
    const t0 = performance.now();
    let running = true;
    setTimeout(() => (running = false), 5000);
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (running) {
        const response = await fetch(`${url}/v1/metrics`, { method: 'POST', headers: { 'content-type': payload.type }, body: payload.body });
        await response.arrayBuffer();
      }
    }));
    const ingested = (await points()) - before;
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(`${format.padEnd(8)} ${payload.body.length} bytes per request of ${POINTS} points: ${(ingested / seconds).toFixed(0)} points/s on one receiver core\n`);
  }
  child.kill();
}
