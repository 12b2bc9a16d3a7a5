// Regression detection on synthetic run series: a TTD of about 3 s with run-to-run noise (log-normal,
// coefficient of variation `cv`, default 10%), 100 runs; in half the series the TTD moves up by 20%
// from run 51 on. After every run from the 20th, history asks whether the newest runs are worse than
// the ones before (a one-sided Mann-Whitney test over several recent segments, Bonferroni).
// Targets: the shift flagged within 5 runs; fewer than 1 false regression per 100 runs without one.
// Run: node bench/history-regression.ts [series] [cv] [first seed]
import { SeededRandom } from '../core/random.ts';
import { detectRegression, type SeriesPoint } from '../history/index.ts';
import { median } from './lib.ts';

const count = Number(process.argv[2] ?? 200);
const cv = Number(process.argv[3] ?? 0.1);
const seedBase = Number(process.argv[4] ?? 1000);
const sigma = Math.sqrt(Math.log(1 + cv * cv));
const delays: number[] = [];
let missed = 0;
let falseFlags = 0;
let falseRuns = 0;
const started = performance.now();
for (let s = 0; s < count; s++) {
  const random = new SeededRandom(seedBase + s);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
  for (const shifted of [true, false]) {
    const points: SeriesPoint[] = [];
    let flaggedAt: number | undefined;
    for (let run = 1; run <= 100; run++) {
      const value = 3000 * (shifted && run > 50 ? 1.2 : 1) * Math.exp(sigma * gaussian() - (sigma * sigma) / 2);
      points.push({ runId: `r${run}`, startedAt: String(run), moatVersion: run > 50 ? '0.2.0' : '0.1.0', serviceVersion: null, value });
      if (run < 20) continue;
      const regression = detectRegression(points, 'ttd_ms');
      if (!shifted) {
        falseRuns++;
        if (regression) falseFlags++;
      } else if (regression && run > 50 && flaggedAt === undefined) flaggedAt = run;
    }
    if (shifted) {
      if (flaggedAt === undefined) missed++;
      else delays.push(flaggedAt - 50);
    }
  }
}
const within5 = delays.filter((d) => d <= 5).length;
const falsePer100 = (falseFlags / falseRuns) * 100;
process.stdout.write(`${count} series of 100 runs, cv ${cv}: shift flagged after a median of ${median(delays)} runs (p90 ${[...delays].sort((a, b) => a - b)[Math.floor(delays.length * 0.9)] ?? '-'}), within 5 runs in ${within5}/${count} (${((100 * within5) / count).toFixed(1)}%), missed ${missed}\n`);
process.stdout.write(`false regressions: ${falseFlags} flagged evaluations over ${falseRuns} unshifted runs = ${falsePer100.toFixed(2)} per 100 runs (target < 1: ${falsePer100 < 1 ? 'meets' : 'MISSES'}); ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
