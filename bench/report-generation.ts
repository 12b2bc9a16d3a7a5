// Report generation for a 30-minute run with 100 series at 1 s (180,000 points), 10 faults and
// their alarms: writeReports (HTML, Markdown, JUnit, Chaos Toolkit, CSV) and renderHtml alone,
// median of 5, and the HTML size, against the 1 s and 2 MB targets.
// Run: node bench/report-generation.ts
import { mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Journal } from '../core/journal.ts';
import { SeededRandom } from '../core/random.ts';
import { seriesLabel } from '../core/series.ts';
import { SeriesStore } from '../observe/index.ts';
import { loadReportInputs, renderHtml, writeReports } from '../reports/index.ts';
import { median, report } from './lib.ts';

const durationMs = 30 * 60_000;
const dir = mkdtempSync(join(tmpdir(), 'moat-bench-report-'));
const journal = JSON.parse(readFileSync(new URL('../reports/fixtures/etcd-split-brain/journal.json', import.meta.url), 'utf8')) as Journal;
const random = new SeededRandom(1);
const store = new SeriesStore();
const names = ['load_error_ratio', 'load_latency_p99_ms', 'load_latency_p50_ms', 'load_requests_per_sec', 'etcd_server_has_leader', 'etcd_server_proposals_failed_total:rate', 'etcd_server_leader_changes_seen_total:rate', 'grpc_server_handling_seconds:p99_ms', 'etcd_network_peer_round_trip_time_seconds:p99_ms', 'etcd_disk_wal_fsync_duration_seconds:p99_ms'];
const faults = Array.from({ length: 10 }, (_, i) => ({ id: `fault-${i + 1}`, appliedAt: 120_000 + i * 165_000, healedAt: 120_000 + i * 165_000 + 30_000 }));
for (const name of names) {
  for (let member = 1; member <= 10; member++) {
    for (let t = 1000; t <= durationMs; t += 1000) {
      const inFault = faults.some((f) => t >= f.appliedAt && t <= f.healedAt);
      store.append(name, { member: `etcd-${member}` }, t, (inFault ? 5 : 1) * (10 + random.next()));
    }
  }
}
store.writeJsonLines(join(dir, 'series.jsonl'));
const all = store.snapshot();
journal.series = { file: 'series.jsonl', count: all.length, watched: all.map(seriesLabel) };
journal.runEndsAt = durationMs;
journal.durationMs = durationMs;
journal.faults = faults.map((f) => ({ ...journal.faults[0]!, id: f.id, scheduledAt: f.appliedAt, appliedAt: f.appliedAt, healedAt: f.healedAt }));
journal.alarms = faults.flatMap((f) => all.map((s) => ({ detector: 'robust-z', series: seriesLabel(s), t: f.appliedAt + 3000, score: 9 })));
journal.seriesDetections = faults.flatMap((f) => all.map((s) => ({ faultId: f.id, detector: 'robust-z', series: seriesLabel(s), ttdMs: 3000, alarm: { detector: 'robust-z', series: seriesLabel(s), t: f.appliedAt + 3000, score: 9 } })));
journal.detections = faults.map((f) => ({ faultId: f.id, detector: 'robust-z', ttdMs: 3000, series: seriesLabel(all[0]!) }));
journal.timeline = journal.alarms.map((a) => ({ t: a.t, kind: 'alarm' as const, detail: `${a.detector} on ${a.series}` }));
writeFileSync(join(dir, 'journal.json'), JSON.stringify(journal));

const whole: number[] = [];
const htmlOnly: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = performance.now();
  writeReports(dir);
  whole.push(performance.now() - t0);
  const inputs = loadReportInputs(dir, ['report.html']);
  const t1 = performance.now();
  renderHtml(inputs);
  htmlOnly.push(performance.now() - t1);
}
const htmlBytes = statSync(join(dir, 'report.html')).size;
process.stdout.write(`${all.length} series x ${durationMs / 1000} points, ${faults.length} faults, ${journal.alarms.length} alarms\n`);
report([
  { name: 'all reports from the run folder, median of 5', measured: median(whole), target: 1000, unit: 'ms' },
  { name: 'renderHtml alone, median of 5', measured: median(htmlOnly), target: 1000, unit: 'ms' },
  { name: 'report.html size', measured: htmlBytes / 1024 / 1024, target: 2, unit: 'MB' },
]);
