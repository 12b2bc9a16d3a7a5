import { twinUp } from '../twin/index.ts';
import type { ServiceSpec, TwinBackendName } from '../core/scenario.ts';
import { benchLedger } from './lib.ts';

/** Brings a twin up and down `runs` times; prints each run and returns the times in ms. */
export async function timeUpDown(services: ServiceSpec[], runs: number, backend: TwinBackendName = 'netns'): Promise<{ up: number[]; down: number[] }> {
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { runId, ledger, logDir } = benchLedger();
    const t0 = performance.now();
    const twin = await twinUp({ backend, services }, { runId, ledger, logDir });
    const t1 = performance.now();
    await twin.down();
    const t2 = performance.now();
    ledger.close();
    up.push(t1 - t0);
    down.push(t2 - t1);
    process.stdout.write(`${backend} run ${i + 1}: up ${(t1 - t0).toFixed(0)} ms, down ${(t2 - t1).toFixed(0)} ms\n`);
  }
  return { up, down };
}
