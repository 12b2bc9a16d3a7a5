import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { percentile } from '../core/thresholds.ts';
import { ResourceLedger } from '../core/resources.ts';
import { sleep } from '../core/units.ts';
import type { Etcd3 } from 'etcd3';

export { percentile };

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** A ledger in a throw-away state folder, so benchmarks never touch a user's runs. */
export function benchLedger(): { runId: string; ledger: ResourceLedger; logDir: string } {
  const runId = randomBytes(3).toString('hex');
  const stateDir = mkdtempSync(join(tmpdir(), 'moat-bench-state-'));
  const logDir = mkdtempSync(join(tmpdir(), 'moat-bench-logs-'));
  // a benchmark that ends well leaves nothing behind; one that fails keeps its logs and ledger
  // (`MOAT_STATE_DIR=<state dir> moat cleanup` undoes what the ledger still holds)
  process.once('exit', (code) => {
    if (code !== 0) {
      process.stderr.write(`bench: logs in ${logDir}, ledger in ${stateDir}\n`);
      return;
    }
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  });
  return { runId, ledger: ResourceLedger.open(runId, { stateDir }), logDir };
}

/** One row per measurement: `name  measured  target  ratio (target / measured; > 1 meets it)`. */
export function report(rows: { name: string; measured: number; target?: number; unit: string; lowerIsBetter?: boolean }[]): void {
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const row of rows) {
    const measured = `${row.measured.toFixed(1)} ${row.unit}`;
    if (row.target === undefined) {
      process.stdout.write(`${row.name.padEnd(width)}  ${measured.padStart(14)}\n`);
      continue;
    }
    const ratio = row.lowerIsBetter === false ? row.measured / row.target : row.target / row.measured;
    process.stdout.write(`${row.name.padEnd(width)}  ${measured.padStart(14)}  target ${row.lowerIsBetter === false ? '>=' : '<'} ${row.target} ${row.unit}  ratio ${ratio.toFixed(2)} ${ratio >= 1 ? '(meets)' : '(MISSES)'}\n`);
  }
}

/** The process's peak resident set so far, MiB (benchmarks print it beside their times). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * etcd put throughput of a closed loop: `concurrency` puts in flight, one second of ramp-up not
 * counted, then `seconds` measured. Puts per second.
 */
export async function etcdPutThroughput(client: Etcd3, seconds: number, concurrency = 64): Promise<number> {
  let done = 0;
  let running = true;
  const worker = async (w: number) => {
    for (let i = 0; running; i++) {
      await client.put(`bench/${w}/${i % 100}`).value('x').exec().catch(() => undefined);
      done++;
    }
  };
  const workers = Array.from({ length: concurrency }, (_, w) => worker(w));
  await sleep(1000);
  const start = done;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const rate = ((done - start) * 1000) / (performance.now() - t0);
  running = false;
  await Promise.all(workers);
  return rate;
}
