// Scoring a whole run: 50 series x 600 points at 1 s, 4 detectors (robust-z, mstl, prophet,
// static), trained on the first 300 s, judged on the rest with 3 faults; runDetectors +
// scoreAlarms, median of 3, against the 2 s target. Run: node bench/score-run.ts
import type { Series } from '../core/series.ts';
import { seriesLabel } from '../core/series.ts';
import { SeededRandom } from '../core/random.ts';
import { runDetectors, scoreAlarms, defaultSpec, loadAugurs, type DetectorSpec } from '../detect/index.ts';
import { median, report } from './lib.ts';

const random = new SeededRandom(3);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
const faults = [{ id: 'a', appliedAt: 330_000, healedAt: 360_000 }, { id: 'b', appliedAt: 420_000, healedAt: 450_000 }, { id: 'c', appliedAt: 510_000, healedAt: 540_000 }];
const series: Series[] = Array.from({ length: 50 }, (_, n) => {
  const t = Float64Array.from({ length: 600 }, (_, i) => (i + 1) * 1000);
  const v = Float64Array.from(t, (ti) => 100 + 5 * Math.sin((2 * Math.PI * ti) / 60_000) + gaussian() + (faults.some((f) => ti >= f.appliedAt && ti <= f.healedAt) ? 8 : 0));
  return { name: n % 2 ? 'load_latency_p99_ms' : 'load_error_ratio', labels: { member: `m${n}` }, t, v };
});
const specs: DetectorSpec[] = [
  defaultSpec('robust-z'),
  { ...defaultSpec('mstl'), periodsMs: [60_000] } as DetectorSpec,
  defaultSpec('prophet'),
  { name: 'static', kind: 'static', direction: 'both', rule: { kind: 'k-of-m', k: 3, m: 5 }, thresholds: [{ series: 'load_latency_p99_ms', operator: '>', value: 110 }] },
];
await loadAugurs();
const times: number[] = [];
let alarms = 0;
for (let r = 0; r < 3; r++) {
  const started = performance.now();
  const run = await runDetectors(series, specs, { trainUntil: 300_000, epochMs: Date.UTC(2026, 0, 5) });
  const scores = scoreAlarms({ faults, alarms: run.alarms, detectors: specs.map((s) => s.name), series: series.map(seriesLabel), graceMs: 5000, judgedFrom: 300_000, judgedUntil: 600_000 });
  times.push(performance.now() - started);
  alarms = run.alarms.length;
  if (r === 0) for (const d of scores.detectors) process.stdout.write(`  ${d.detector}: detected ${d.detected}/${d.faults}, median TTD ${d.medianTtdMs} ms, false alarms ${d.falseAlarms}\n`);
}
process.stdout.write(`50 series x 600 points x 4 detectors, ${alarms} alarms\n`);
report([{ name: 'score a whole run, median of 3', measured: median(times), target: 2000, unit: 'ms' }]);
