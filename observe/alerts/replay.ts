import { cpSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { spawnTracked, type ResourceLedger } from '../../core/resources.ts';
import { MoatError } from '../../core/errors.ts';
import { waitFor } from '../../core/units.ts';
import { PrometheusServer } from './prometheus.ts';

/**
 * A Prometheus over the TSDB snapshots of earlier runs (`prometheus/` in each run folder), merged
 * into one data folder: every run's blocks side by side, queried through Prometheus itself. It
 * scrapes nothing and evaluates no rules; `moat alerts replay` asks it for each rule's expression
 * over each run's time.
 */
export async function startReplayPrometheus(options: { ledger: ResourceLedger; snapshots: readonly string[]; workDir: string; logFile: string }): Promise<PrometheusServer> {
  const tsdb = join(options.workDir, 'tsdb');
  mkdirSync(tsdb, { recursive: true });
  for (const snapshot of options.snapshots) {
    for (const block of readdirSync(snapshot)) {
      if (!statSync(join(snapshot, block)).isDirectory()) continue;
      // a block's folder is named by its ULID: blocks of different runs never collide
      cpSync(join(snapshot, block), join(tsdb, block), { recursive: true });
    }
  }
  const configFile = join(options.workDir, 'prometheus.yml');
  writeFileSync(configFile, '{}\n');
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const address = `127.0.0.1:${port}`;
  const { child, exited } = spawnTracked(options.ledger, { kind: 'process', name: 'prometheus-replay' }, 'prometheus', [
    `--config.file=${configFile}`, `--storage.tsdb.path=${tsdb}`, `--web.listen-address=${address}`,
    // old runs must not be compacted away before they are read
    '--storage.tsdb.retention.time=100y', '--log.level=error',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  await waitFor('Prometheus ready for the replay', 60_000, async () => {
    const exit = await Promise.race([exited, Promise.resolve(undefined)]);
    if (exit !== undefined) throw new MoatError(`prometheus exited with ${exit}: ${stderr.trim()}`);
    return (await fetch(`http://${address}/-/ready`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false)) ? true : undefined;
  }, 50);
  return PrometheusServer.attach(`http://${address}`, child, exited, options.workDir);
}
