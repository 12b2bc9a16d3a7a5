import type { ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MoatError } from '../../core/errors.ts';
import { programVersion } from '../../core/exec.ts';
import { spawnTracked, stopChild, type ResourceLedger } from '../../core/resources.ts';
import { waitFor } from '../../core/units.ts';

/** One scrape job: what Prometheus scrapes, as moat scrapes it. */
export interface PrometheusJob {
  name: string;
  /** `host:port` and the labels each target carries */
  targets: { address: string; labels: Record<string, string> }[];
  metricsPath: string;
}

export interface PrometheusOptions {
  ledger: ResourceLedger;
  /** where the TSDB lives: a folder the run made (its data folder on tmpfs) */
  dataDir: string;
  /** bound to this address only (the twin's gateway, or 127.0.0.1) */
  host: string;
  port: number;
  /** the process's name in the ledger and its log file */
  name: string;
  logFile: string;
  scrapeIntervalMs: number;
  evaluationIntervalMs: number;
  ruleFiles: readonly string[];
  jobs: readonly PrometheusJob[];
  /** `host:port` of an Alertmanager to send alerts to */
  alertmanager?: string;
  /** a label on every series and alert, so nothing of this run can be mistaken for another's */
  runLabel: string;
}

/** One series of a range query: its labels and `[unix seconds, value]` pairs. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

/**
 * A real Prometheus (Debian's) for one run: it scrapes what moat scrapes, at the same interval,
 * evaluates the team's rule files, and answers moat's queries. Recorded in the ledger before it
 * starts; its command line names the run's data folder, which carries the run id.
 */
export class PrometheusServer {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number>;
  readonly #dataDir: string;

  private constructor(url: string, child: ChildProcess, exited: Promise<number>, dataDir: string) {
    this.url = url;
    this.#child = child;
    this.#exited = exited;
    this.#dataDir = dataDir;
  }

  /** The server's process id (benchmarks pause it to measure its running cost). */
  get pid(): number {
    return this.#child.pid!;
  }

  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const configFile = join(options.dataDir, 'prometheus.yml');
    writeFileSync(configFile, prometheusConfig(options), { mode: 0o600 });
    const address = `${options.host}:${options.port}`;
    const { child, exited } = spawnTracked(options.ledger, { kind: 'process', name: options.name }, 'prometheus', [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(options.dataDir, 'tsdb')}`,
      `--web.listen-address=${address}`,
      // snapshots of the TSDB go into the run folder for `moat alerts replay`
      '--web.enable-admin-api',
      '--storage.tsdb.retention.time=30d',
      '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const server = new PrometheusServer(`http://${address}`, child, exited, options.dataDir);
    await waitFor('Prometheus ready', 30_000, async () => {
      const exit = await Promise.race([exited, Promise.resolve(undefined)]);
      if (exit !== undefined) throw new MoatError(`prometheus exited with ${exit} while starting (see ${options.logFile})`);
      const ready = await fetch(`${server.url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      return ready ? true : undefined;
    }, 100).catch(async (error: unknown) => {
      await server.stop();
      throw error;
    });
    return server;
  }

  /** A Prometheus already started (by a replay), to query and stop like any other. */
  static attach(url: string, child: ChildProcess, exited: Promise<number>, dataDir: string): PrometheusServer {
    return new PrometheusServer(url, child, exited, dataDir);
  }

  static version(): Promise<string> {
    return programVersion('prometheus', ['--version'], /prometheus, version (\S+)/);
  }

  async #api(path: string, params: Record<string, string>, method: 'GET' | 'POST' = 'GET'): Promise<unknown> {
    const query = new URLSearchParams(params).toString();
    const response = await fetch(`${this.url}${path}${method === 'GET' && query ? `?${query}` : ''}`, {
      method, signal: AbortSignal.timeout(30_000),
      ...(method === 'POST' ? { body: query, headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
    });
    const body = (await response.json().catch(() => ({}))) as { status?: string; data?: unknown; error?: string };
    if (!response.ok || body.status !== 'success') throw new MoatError(`Prometheus ${path}: ${body.error ?? `HTTP ${response.status}`}`);
    return body.data;
  }

  /** A PromQL range query, evaluated by Prometheus at every `stepMs` from `startMs` to `endMs` (epoch ms). */
  async queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<RangeSeries[]> {
    const data = (await this.#api('/api/v1/query_range', { query: expr, start: String(startMs / 1000), end: String(endMs / 1000), step: `${stepMs / 1000}s` }, 'POST')) as { result?: RangeSeries[] };
    return data.result ?? [];
  }

  /** Flushes the TSDB (head included) into a snapshot and copies it to `into`: the run's series, as Prometheus stored them. */
  async snapshot(into: string): Promise<string> {
    const data = (await this.#api('/api/v1/admin/tsdb/snapshot', {}, 'POST')) as { name: string };
    const from = join(this.#dataDir, 'tsdb', 'snapshots', data.name);
    mkdirSync(into, { recursive: true });
    for (const entry of readdirSync(from)) cpSync(join(from, entry), join(into, entry), { recursive: true });
    return into;
  }

  stop(): Promise<void> {
    return stopChild(this.#child, this.#exited);
  }
}

/** prometheus.yml for a run: its jobs, its rule files, its Alertmanager, the run's label on everything. */
export function prometheusConfig(options: Pick<PrometheusOptions, 'scrapeIntervalMs' | 'evaluationIntervalMs' | 'ruleFiles' | 'jobs' | 'alertmanager' | 'runLabel'>): string {
  const seconds = (ms: number) => `${Math.max(0.001, ms / 1000)}s`;
  const config = {
    global: {
      scrape_interval: seconds(options.scrapeIntervalMs),
      scrape_timeout: seconds(Math.min(options.scrapeIntervalMs, 10_000)),
      evaluation_interval: seconds(options.evaluationIntervalMs),
      external_labels: { moat_run: options.runLabel },
    },
    rule_files: [...options.ruleFiles],
    scrape_configs: options.jobs.map((job) => ({
      job_name: job.name,
      metrics_path: job.metricsPath,
      static_configs: job.targets.map((t) => ({ targets: [t.address], labels: t.labels })),
    })),
    ...(options.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } } : {}),
  };
  // JSON is YAML: no quoting mistakes in labels or paths
  return JSON.stringify(config, null, 2) + '\n';
}
