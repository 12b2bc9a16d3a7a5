import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One value moat exposes: a series' latest point. */
export interface ExposedValue {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const VALID_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const VALID_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Prometheus' text exposition of gauges: one sample per line, label values escaped. */
export function exposition(values: readonly ExposedValue[]): string {
  const lines: string[] = [];
  const typed = new Set<string>();
  for (const { name, labels, value } of values) {
    if (!VALID_NAME.test(name) || !Number.isFinite(value)) continue;
    if (!typed.has(name)) {
      lines.push(`# TYPE ${name} gauge`);
      typed.add(name);
    }
    const pairs = Object.entries(labels).filter(([k]) => VALID_LABEL.test(k) && k !== '__name__').map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
    lines.push(`${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${value}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * moat's own series (load, eBPF, OpenTelemetry, Kafka) as a Prometheus /metrics endpoint, so a
 * team's rules can use them too. Bound to one address (the twin's gateway), never to every interface.
 */
export class MetricsExporter {
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(options: { host: string; port?: number; values: () => ExposedValue[] }): Promise<MetricsExporter> {
    const server = createServer((request, response) => {
      request.resume();
      if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('moat exposes GET /metrics\n');
        return;
      }
      try {
        response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(exposition(options.values()));
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
      }
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host, () => resolve());
    });
    return new MetricsExporter(server);
  }

  get address(): string {
    const address = this.#server.address() as AddressInfo;
    return `${address.address}:${address.port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
