import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MoatError } from '../../core/errors.ts';
import { spawnTracked, stopChild, type ResourceLedger } from '../../core/resources.ts';
import { waitFor } from '../../core/units.ts';

/** A notification as Alertmanager's webhook delivered it to moat: when, for which alert, and whether firing. */
export interface Notification {
  /** epoch ms when moat received it */
  receivedAt: number;
  alert: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
}

/** The largest webhook body moat takes (Alertmanager's are a few KB). */
const MAX_WEBHOOK_BYTES = 1024 * 1024;

/**
 * The webhook Alertmanager posts to: it records when each alert's notification arrived, the
 * moment on-call would be paged. Bound to one address (the twin's gateway).
 */
export class WebhookReceiver {
  readonly notifications: Notification[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(host: string): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      request.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > MAX_WEBHOOK_BYTES) request.destroy();
        else chunks.push(chunk);
      });
      request.on('error', () => response.destroy());
      request.on('end', () => {
        const receivedAt = Date.now();
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alerts?: { status?: string; labels?: Record<string, string> }[] };
          for (const alert of body.alerts ?? []) {
            const labels = alert.labels ?? {};
            receiver!.notifications.push({ receivedAt, alert: labels.alertname ?? '', status: alert.status === 'resolved' ? 'resolved' : 'firing', labels });
          }
          response.writeHead(200).end();
        } catch {
          response.writeHead(400).end();
        }
      });
    });
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    receiver = new WebhookReceiver(server);
    return receiver;
  }

  get url(): string {
    const address = this.#server.address() as AddressInfo;
    return `http://${address.address}:${address.port}/alertmanager`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export interface RouteSpec {
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
}

/**
 * A real Alertmanager (Debian's prometheus-alertmanager) for one run, routing every alert to moat's
 * webhook with the scenario's timings. Clustering is off: it listens on one address only.
 */
export class AlertmanagerServer {
  readonly address: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number>;

  private constructor(address: string, child: ChildProcess, exited: Promise<number>) {
    this.address = address;
    this.#child = child;
    this.#exited = exited;
  }

  static async start(options: { ledger: ResourceLedger; dataDir: string; host: string; port: number; logFile: string; webhook: string; route: RouteSpec }): Promise<AlertmanagerServer> {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const configFile = join(options.dataDir, 'alertmanager.yml');
    const seconds = (ms: number) => `${Math.max(1, Math.round(ms / 1000))}s`;
    writeFileSync(configFile, JSON.stringify({
      route: { receiver: 'moat', group_by: ['alertname'], group_wait: seconds(options.route.groupWaitMs), group_interval: seconds(options.route.groupIntervalMs), repeat_interval: seconds(options.route.repeatIntervalMs) },
      receivers: [{ name: 'moat', webhook_configs: [{ url: options.webhook, send_resolved: true }] }],
    }, null, 2) + '\n', { mode: 0o600 });
    const address = `${options.host}:${options.port}`;
    const { child, exited } = spawnTracked(options.ledger, { kind: 'process', name: 'alertmanager' }, 'prometheus-alertmanager', [
      `--config.file=${configFile}`, `--storage.path=${options.dataDir}`, `--web.listen-address=${address}`, '--cluster.listen-address=', '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const server = new AlertmanagerServer(address, child, exited);
    await waitFor('Alertmanager ready', 30_000, async () => {
      const exit = await Promise.race([exited, Promise.resolve(undefined)]);
      if (exit !== undefined) throw new MoatError(`prometheus-alertmanager exited with ${exit} while starting (see ${options.logFile})`);
      return (await fetch(`http://${address}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)) ? true : undefined;
    }, 100).catch(async (error: unknown) => {
      await server.stop();
      throw error;
    });
    return server;
  }

  stop(): Promise<void> {
    return stopChild(this.#child, this.#exited);
  }
}
