// Detection quality on a seeded synthetic corpus (default 60 hourly series over two weeks with
// daily and weekly seasonality; level shifts, spikes, ramps and variance changes at 1-5 sigma):
// per detector, detection rate, median TTD, false alarms per hour and the NAB standard score
// (0 = null detector, 100 = perfect). Run: node bench/detect-quality.ts [count] [seed]
import type { Alarm } from '../core/detection.ts';
import { seriesLabel } from '../core/series.ts';
import { runDetectors, scoreAlarms, defaultSpec, type DetectorSpec } from '../detect/index.ts';
import { syntheticCorpus } from '../detect/index.ts';

const count = Number(process.argv[2] ?? 60);
const seed = Number(process.argv[3] ?? 42);
const corpus = syntheticCorpus(seed, count);
const HOUR = 3_600_000;
const breach = { kind: 'breach' } as const;
// each detector with its default rule (3 of 5 points), and with a single-point breach rule
const detectors: DetectorSpec[] = [
  defaultSpec('robust-z'),
  { ...defaultSpec('robust-z'), name: 'robust-z z>3 breach', threshold: 3, rule: breach } as DetectorSpec,
  { ...defaultSpec('mstl'), periodsMs: [24 * HOUR] } as DetectorSpec,
  { ...defaultSpec('mstl'), name: 'mstl breach', periodsMs: [24 * HOUR], rule: breach } as DetectorSpec,
  defaultSpec('prophet'),
  { ...defaultSpec('prophet'), name: 'prophet breach', rule: breach } as DetectorSpec,
];
const graceMs = 2 * HOUR;
const rows: { name: string; detected: number; faults: number; ttds: number[]; falseAlarms: number; hours: number; nab: number[]; seconds: number }[] = [];
for (const spec of [...detectors, null]) {
  const name = spec?.name ?? 'static (training min/max)';
  const started = performance.now();
  const row = { name, detected: 0, faults: 0, ttds: [] as number[], falseAlarms: 0, hours: 0, nab: [] as number[], seconds: 0 };
  for (const item of corpus) {
    let detectorSpec: DetectorSpec;
    if (spec) detectorSpec = spec;
    else {
      // a fixed threshold as teams set them by hand: outside anything seen in the training week
      const train = Array.from(item.series.v.subarray(0, item.trainUntil / HOUR));
      detectorSpec = { name, kind: 'static', direction: 'both', rule: { kind: 'breach' }, thresholds: [{ series: 'synthetic', operator: '>', value: Math.max(...train) }, { series: 'synthetic', operator: '<', value: Math.min(...train) }] };
    }
    const { alarms } = await runDetectors([item.series], [detectorSpec], { trainUntil: item.trainUntil, epochMs: Date.UTC(2026, 0, 5) });
    const lastT = item.series.t[item.series.t.length - 1]!;
    const scores = scoreAlarms({ faults: [item.window], alarms: alarms as Alarm[], detectors: [name], series: [seriesLabel(item.series)], graceMs, judgedFrom: item.trainUntil, judgedUntil: lastT });
    const d = scores.detectors[0]!;
    row.faults += 1;
    row.detected += d.detected;
    if (scores.detections[0]!.ttdMs !== null) row.ttds.push(scores.detections[0]!.ttdMs);
    row.falseAlarms += d.falseAlarms;
    row.hours += (lastT - item.trainUntil) / HOUR;
    row.nab.push(d.nabNormalized.standard);
  }
  row.seconds = (performance.now() - started) / 1000;
  rows.push(row);
}
const median = (v: number[]) => (v.length === 0 ? Number.NaN : [...v].sort((a, b) => a - b)[v.length >> 1]!);
process.stdout.write(`corpus: ${count} series (seed ${seed}), 1 week training + 1 week judged at 1 h, grace ${graceMs / HOUR} h\n`);
process.stdout.write(`${'detector'.padEnd(28)} ${'detected'.padStart(9)} ${'rate'.padStart(6)} ${'median TTD'.padStart(11)} ${'FA/h'.padStart(7)} ${'NAB std'.padStart(8)} ${'time'.padStart(7)}\n`);
for (const r of rows) {
  process.stdout.write(`${r.name.padEnd(28)} ${`${r.detected}/${r.faults}`.padStart(9)} ${((r.detected / r.faults) * 100).toFixed(0).padStart(5)}% ${`${(median(r.ttds) / HOUR).toFixed(1)} h`.padStart(11)} ${(r.falseAlarms / r.hours).toFixed(3).padStart(7)} ${(r.nab.reduce((a, b) => a + b, 0) / r.nab.length).toFixed(1).padStart(8)} ${`${r.seconds.toFixed(1)} s`.padStart(7)}\n`);
}
