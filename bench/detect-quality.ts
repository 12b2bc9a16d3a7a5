// Detection quality on labelled operational series, through the same harness as
// `moat detect bench`: the generated corpus (36 files of 5-minute data over two to three weeks,
// with growth, drift, daily and weekly cycles, unlabelled glitches, and outages, spike bursts,
// levels that move for good, leaks, noise bursts and stuck series as labelled anomalies), each
// detector fitted once on the probationary 15% and online, scored as NAB scores (0 = flags
// nothing, 100 = flags the first point of every window), with one threshold swept over the
// corpus, detection rate, median delay and false alarms per day.
// Targets: the best online detector >= 2x the best fitted-once standard score, with fewer false
// alarms per day than robust-z. Run: node bench/detect-quality.ts [files] [seed] [kinds,...]
import { benchCorpus, defaultSpec, formatNabTime, operationalCorpus, type BareKind } from '../detect/index.ts';
import { formatMs } from '../core/units.ts';
import { peakRssMiB } from './lib.ts';

const count = Number(process.argv[2] ?? 36);
const seed = Number(process.argv[3] ?? 2);
const kinds = (process.argv[4] ?? 'robust-z,esd,knn,ensemble,mstl,prophet').split(',') as BareKind[];
const files = operationalCorpus(seed, count);
const specs = kinds.flatMap((kind) => [defaultSpec(kind), defaultSpec(kind, `${kind}-online`, { online: true })]);
const started = performance.now();
const results = await benchCorpus(files, specs);
process.stdout.write(`corpus: ${files.length} files from ${formatNabTime(files[0]!.t[0]!)}, seed ${seed}, ${files.reduce((n, f) => n + f.t.length, 0)} points, ${results[0]?.windows} scored windows\n`);
process.stdout.write(`${'detector'.padEnd(18)} ${'mode'.padEnd(7)} ${'standard'.padStart(8)} ${'low FP'.padStart(8)} ${'low FN'.padStart(8)} ${'swept'.padStart(13)} ${'detected'.padStart(9)} ${'delay'.padStart(9)} ${'FA/day'.padStart(7)} ${'adapted'.padStart(8)} ${'points/s'.padStart(9)}\n`);
for (const r of results) {
  process.stdout.write(`${r.detector.padEnd(18)} ${r.mode.padEnd(7)} ${r.nab.standard.toFixed(1).padStart(8)} ${r.nab.reward_low_fp.toFixed(1).padStart(8)} ${r.nab.reward_low_fn.toFixed(1).padStart(8)} ${`${r.swept.standard.toFixed(1)} @${r.swept.threshold}`.padStart(13)} ${`${r.detected}/${r.windows}`.padStart(9)} ${(r.medianDelayMs === null ? '-' : formatMs(r.medianDelayMs)).padStart(9)} ${r.falseAlarmsPerDay.toFixed(2).padStart(7)} ${String(r.adaptations).padStart(8)} ${Math.round(r.pointsPerSecond).toString().padStart(9)}\n`);
  for (const e of r.errors.slice(0, 3)) process.stdout.write(`  error: ${e}\n`);
}
const best = (mode: 'fitted' | 'online') => results.filter((r) => r.mode === mode).sort((a, b) => b.nab.standard - a.nab.standard)[0]!;
const online = best('online');
const fitted = best('fitted');
const robustZ = results.find((r) => r.detector === 'robust-z');
const ratio = fitted.nab.standard > 0 ? online.nab.standard / fitted.nab.standard : Infinity;
process.stdout.write(`best online ${online.detector} ${online.nab.standard.toFixed(1)} vs best fitted once ${fitted.detector} ${fitted.nab.standard.toFixed(1)}: ratio ${ratio.toFixed(2)} (target >= 2: ${ratio >= 2 ? 'meets' : 'MISSES'})\n`);
if (robustZ) process.stdout.write(`false alarms/day: ${online.detector} ${online.falseAlarmsPerDay.toFixed(2)} vs robust-z (fitted once, the default) ${robustZ.falseAlarmsPerDay.toFixed(2)} (${online.falseAlarmsPerDay < robustZ.falseAlarmsPerDay ? 'fewer: meets' : 'MISSES'})\n`);
process.stdout.write(`${((performance.now() - started) / 1000).toFixed(0)} s; peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
