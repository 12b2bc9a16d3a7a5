// Would etcd's published alert rules have paged, and how much later than moat's detectors? Runs of
// scenarios/etcd-alert-rules.yaml (the leader isolated for 100 s, a real Prometheus evaluating
// scenarios/rules/etcd.yaml each second, an Alertmanager paging moat): per rule, its pending time,
// its firing time (TTD) and its page time, moat's detectors on the same fault, and the ratio.
// Target: etcdNoLeader-style rules >= 20x slower than moat's best (median over the runs); the
// blind rules are listed.
// Run: node bench/alert-rules.ts [runs]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenarioFile, runScenario } from '../runner/index.ts';
import { median, peakRssMiB } from './lib.ts';

const count = Number(process.argv[2] ?? 3);
const file = new URL('../scenarios/etcd-alert-rules.yaml', import.meta.url).pathname;
const fmt = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);
const ratios: number[] = [];
const blindSets: string[] = [];
for (let run = 1; run <= count; run++) {
  const outDir = mkdtempSync(join(tmpdir(), 'moat-bench-alerts-'));
  const stateDir = mkdtempSync(join(tmpdir(), 'moat-bench-state-'));
  try {
    const started = performance.now();
    const journal = await runScenario(await loadScenarioFile(file), { scenarioFile: file, outDir, stateDir });
    const alerts = journal.alerts!;
    const moat = journal.detections.filter((d) => !d.detector.startsWith('alert:'));
    process.stdout.write(`run ${run}: ${journal.status}, ${journal.verdict.passed ? 'PASSED' : 'FAILED'} in ${((performance.now() - started) / 1000).toFixed(0)} s; moat's detectors: ${moat.map((d) => `${d.detector} ${fmt(d.ttdMs)}`).join(', ')}\n`);
    process.stdout.write(`  ${'rule'.padEnd(36)} ${'pending'.padStart(9)} ${'firing'.padStart(9)} ${'paged'.padStart(9)} ${'x moat'.padStart(8)}\n`);
    for (const d of alerts.detections) {
      process.stdout.write(`  ${d.alert.padEnd(36)} ${fmt(d.pendingMs).padStart(9)} ${fmt(d.ttdMs).padStart(9)} ${fmt(d.notifiedMs).padStart(9)} ${(d.ratioToBest === null ? '-' : `${d.ratioToBest.toFixed(1)}x`).padStart(8)}\n`);
    }
    const noLeader = alerts.detections.find((d) => d.alert === 'etcdNoLeader');
    if (noLeader?.ratioToBest != null) ratios.push(noLeader.ratioToBest);
    blindSets.push(alerts.blind.join(', ') || 'none');
  } finally {
    rmSync(outDir, { recursive: true, force: true });
    rmSync(stateDir, { recursive: true, force: true });
  }
}
process.stdout.write(`blind rules: ${[...new Set(blindSets)].join(' | ')}\n`);
const m = ratios.length ? median(ratios) : 0;
process.stdout.write(`etcdNoLeader / moat's best over ${count} runs: ${ratios.map((r) => `${r.toFixed(1)}x`).join(', ') || 'never fired'}; median ${m.toFixed(1)}x (target >= 20x: ${m >= 20 ? 'meets' : 'MISSES'}, ratio to target ${(m / 20).toFixed(2)}); peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
