// Fit + forecast time per detector for 1k, 10k and 100k points (medians; 100k once), side by side
// with the Python references run in the same invocation (numpy robust z, statsmodels STL + ETS,
// prophet), as a ratio Python / moat (> 1: moat is faster; the target is >= 5). Both sides run one
// untimed round first.
// Run: node bench/detect-speed.ts [sizes] [reps]     (needs python3 with numpy, pandas, statsmodels, prophet)
import { spawnSync } from 'node:child_process';
import type { Series } from '../core/series.ts';
import { SeededRandom } from '../core/random.ts';
import { alarmsOf, createDetector, defaultSpec, loadAugurs, type DetectorSpec } from '../detect/index.ts';
import { median } from './lib.ts';

const sizes = (process.argv[2] ?? '1000,10000,100000').split(',').map(Number);
const reps = Number(process.argv[3] ?? 3);
const HOUR = 3_600_000;
const HORIZON = 100;

function series(n: number): { train: Series; test: Series } {
  const random = new SeededRandom(n);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  const total = n + HORIZON;
  const t = Float64Array.from({ length: total }, (_, i) => i * HOUR);
  const v = Float64Array.from({ length: total }, (_, i) => 50 + 0.001 * i + 6 * Math.sin((2 * Math.PI * i) / 24) + gaussian());
  return { train: { name: 'x', labels: {}, t: t.subarray(0, n), v: v.subarray(0, n) }, test: { name: 'x', labels: {}, t: t.subarray(n), v: v.subarray(n) } };
}

const augurs = await loadAugurs();
// Prophet with Python's 1000 interval draws, so both sides do the same work
const specs: DetectorSpec[] = [defaultSpec('robust-z'), { ...defaultSpec('mstl'), periodsMs: [24 * HOUR] } as DetectorSpec, { ...defaultSpec('prophet'), samples: 1000 } as DetectorSpec];
const ours: Record<string, Record<number, number>> = {};
for (const spec of specs) {
  ours[spec.name] = {};
  for (const n of sizes) {
    const { train, test } = series(n);
    const times: number[] = [];
    // one untimed round on 1000 points first, so JIT compilation is not counted (as on the Python side)
    const warm = series(1000);
    const warmDetector = createDetector(spec, { augurs, epochMs: Date.UTC(2026, 0, 5) });
    warmDetector.fit(warm.train);
    alarmsOf(warmDetector, warm.test);
    for (let r = 0; r < (n >= 100_000 ? 1 : reps); r++) {
      const started = performance.now();
      const detector = createDetector(spec, { augurs, epochMs: Date.UTC(2026, 0, 5) });
      detector.fit(train);
      alarmsOf(detector, test);
      times.push((performance.now() - started) / 1000);
    }
    ours[spec.name]![n] = median(times);
    process.stderr.write(`moat ${spec.name} n=${n}: ${ours[spec.name]![n]!.toFixed(3)} s\n`);
  }
}
const python = spawnSync('python3', [new URL('./python/detect_speed.py', import.meta.url).pathname, sizes.join(','), String(reps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const reference = python.status === 0 ? (JSON.parse(python.stdout.trim().split('\n').pop()!) as Record<string, Record<string, number>>) : undefined;
if (!reference) process.stdout.write(`python reference failed (exit ${python.status}); moat figures only\n`);
process.stdout.write(`${'detector'.padEnd(10)} ${'n'.padStart(7)} ${'moat'.padStart(10)} ${'python'.padStart(10)} ${'python/moat'.padStart(12)}\n`);
for (const spec of specs) {
  for (const n of sizes) {
    const mine = ours[spec.name]![n]!;
    const theirs = reference?.[spec.name]?.[String(n)];
    const ratio = theirs === undefined ? '-' : `${(theirs / mine).toFixed(2)}x${theirs / mine >= 5 ? '' : ' (< 5x)'}`;
    process.stdout.write(`${spec.name.padEnd(10)} ${String(n).padStart(7)} ${`${mine.toFixed(3)} s`.padStart(10)} ${theirs === undefined ? '-'.padStart(10) : `${theirs.toFixed(3)} s`.padStart(10)} ${ratio.padStart(12)}\n`);
  }
}
