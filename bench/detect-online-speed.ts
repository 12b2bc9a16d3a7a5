// What online operation costs: points judged per second by each detector in online mode on one
// 100k-point series (5-minute data: a daily cycle, growth, noise, a level shift at 60%), each
// point judged by a model fitted on the trailing window before it. Targets: >= 10,000 points/s
// for robust-z (refit every point) and the ESD (every 12), >= 1,000 for MSTL (every 288).
// Run: node bench/detect-online-speed.ts [points] [kinds,...]
import { defaultSpec, runDetectors, type BareKind } from '../detect/index.ts';
import { SeededRandom } from '../core/random.ts';
import { peakRssMiB } from './lib.ts';

const n = Number(process.argv[2] ?? 100_000);
const kinds = (process.argv[3] ?? 'robust-z,esd,mstl,knn,ensemble,prophet').split(',') as BareKind[];
const targets: Partial<Record<BareKind, number>> = { 'robust-z': 10_000, esd: 10_000, mstl: 1000 };
const random = new SeededRandom(7);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
const t = Float64Array.from({ length: n }, (_, i) => i * 300_000);
const v = Float64Array.from({ length: n }, (_, i) => 1000 * (1 + (0.2 * i) / n) * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288)) + 20 * gaussian() + (i > 0.6 * n ? 200 : 0));
const series = { name: 'requests_per_sec', labels: {}, t, v };
const trainUntil = t[2016]!;
for (const kind of kinds) {
  // prophet refits take long: judge a tenth of the series
  const points = kind === 'prophet' ? Math.min(n, 12_000) : n;
  const input = points === n ? series : { ...series, t: t.subarray(0, points), v: v.subarray(0, points) };
  const spec = defaultSpec(kind, undefined, { online: true });
  const started = performance.now();
  const run = await runDetectors([input], [spec], { trainUntil, epochMs: Date.UTC(2026, 0, 5), threads: 1 });
  const seconds = (performance.now() - started) / 1000;
  const rate = (points - 2016) / seconds;
  const target = targets[kind];
  process.stdout.write(`${kind.padEnd(9)} refit every ${String(spec.online!.refitEvery).padStart(3)}: ${Math.round(rate).toString().padStart(7)} points/s over ${points - 2016} points (${seconds.toFixed(1)} s, ${run.alarms.length} alarms, ${run.adaptations.length} adaptations${run.errors.length ? `, ${run.errors.length} errors: ${run.errors[0]!.error}` : ''})${target ? `; target >= ${target}: ratio ${(rate / target).toFixed(2)} ${rate >= target ? '(meets)' : '(MISSES)'}` : ''}\n`);
}
process.stdout.write(`peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
