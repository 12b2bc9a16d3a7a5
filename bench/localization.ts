// Localization over the scenario library: every scenario is run for real once per seed (recorded
// into a cache, so the localizer can be judged again without a twin), then every fault is
// localized from the run folder and scored against where it really was. Prints top-1 and top-3
// accuracy, the cause accuracy and the median time to localize per scenario and over the library
// (targets: top-1 >= 90%, median TTL <= 10 s), and the time to diagnose a 10-minute run (target
// < 2 s), with peak RSS.
// Run: node bench/localization.ts [seeds | first-last] [scenario-name...]   (needs root; first run records)
// e.g. `2-2` judges only seed 2: recordings the localizer was not tuned on (a holdout)
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readJournal } from '../core/journal-file.ts';
import { readSeriesFile } from '../core/series-file.ts';
import type { FaultRecord, TimelineEvent } from '../core/journal.ts';
import type { Series } from '../core/series.ts';
import { diagnoseRun } from '../diagnose/index.ts';
import { PROFILE_FILE, readProfileFile, type ProfileSample } from '../core/profile.ts';
import { renderDiagnosisHtml } from '../reports/index.ts';
import { median, peakRssMiB } from './lib.ts';

const root = new URL('..', import.meta.url).pathname;
const [firstSeed, lastSeed] = (() => {
  const [a, b] = (process.argv[2] ?? '1').split('-').map(Number);
  return b === undefined ? [1, a!] : [a!, b];
})();
const seeds = lastSeed - firstSeed + 1;
const only = process.argv.slice(3);
const cache = join(process.env.MOAT_CACHE ?? join(homedir(), '.cache', 'moat'), 'bench-localization');
const scenarios = readdirSync(join(root, 'scenarios')).filter((f) => f.endsWith('.yaml') && !f.endsWith('.schedule.yaml')).map((f) => f.replace(/\.yaml$/, '')).filter((n) => only.length === 0 || only.includes(n)).sort();

/** The run folder of a scenario and seed, recorded once. */
function recorded(name: string, seed: number): string | undefined {
  const dir = join(cache, `${name}-seed${seed}`);
  const find = () => (existsSync(dir) ? readdirSync(dir).map((d) => join(dir, d)).find((d) => existsSync(join(d, 'journal.json'))) : undefined);
  if (find()) return find();
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`recording ${name} seed ${seed} ...\n`);
  const run = spawnSync(process.execPath, [join(root, 'cli/main.ts'), 'run', join(root, 'scenarios', `${name}.yaml`), '--out', dir, '--seed', String(seed), '--cleanup-stale'], { encoding: 'utf8', env: { ...process.env, MOAT_HISTORY: 'off' } });
  if (run.status !== 0 && run.status !== 1) process.stderr.write(`  ${name} seed ${seed} exited ${run.status}: ${run.stderr.slice(-500)}\n`);
  return find();
}

interface Row { scenario: string; faults: number; top1: number; top3: number; cause: number; ttls: number[]; never: number; worst: string[]; top1Blind: number }
const rows: Row[] = [];
const allTtls: number[] = [];
let longest: { dir: string; seconds: number } | undefined;
/** the longest recorded run that has an on-CPU profile (its diagnosis card draws flame graphs) */
let longestProfiled: { dir: string; seconds: number } | undefined;
for (const name of scenarios) {
  const row: Row = { scenario: name, faults: 0, top1: 0, top3: 0, cause: 0, ttls: [], never: 0, worst: [], top1Blind: 0 };
  for (let seed = firstSeed; seed <= lastSeed; seed++) {
    const dir = recorded(name, seed);
    if (!dir) continue;
    const journal = readJournal(dir);
    const series = readSeriesFile(join(dir, journal.series.file));
    const seconds = (journal.runEndsAt ?? 0) / 1000;
    if (!longest || seconds > longest.seconds) longest = { dir, seconds };
    if (existsSync(join(dir, PROFILE_FILE)) && (!longestProfiled || seconds > longestProfiled.seconds)) longestProfiled = { dir, seconds };
    // the same without the kernel's process events (exits and signals): what the rest of the evidence can do alone
    const blind = diagnoseRun({ ...journal, timeline: journal.timeline.filter((e) => e.kind !== 'process-exit') }, series).faults;
    row.top1Blind += blind.filter((f) => f.top1).length;
    for (const f of diagnoseRun(journal, series).faults) {
      row.faults++;
      if (f.top1) row.top1++;
      else row.worst.push(`${f.faultId}: ${f.hypotheses[0]?.component.id ?? 'none'} instead of ${f.truth.join('/')}`);
      if (f.top3) row.top3++;
      if (f.causeCorrect) row.cause++;
      if (f.ttlMs === null) row.never++;
      else {
        row.ttls.push(f.ttlMs);
        allTtls.push(f.ttlMs);
      }
    }
  }
  rows.push(row);
}

const pct = (a: number, b: number) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(0)}%`);
const s = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '-' : `${(ms / 1000).toFixed(1)} s`);
process.stdout.write('| scenario | faults | top-1 | top-3 | cause | median TTL | never localized | top-1 without process events | wrong top-1 |\n|---|---|---|---|---|---|---|---|---|\n');
for (const r of rows) process.stdout.write(`| ${r.scenario} | ${r.faults} | ${pct(r.top1, r.faults)} | ${pct(r.top3, r.faults)} | ${pct(r.cause, r.faults)} | ${s(r.ttls.length ? median(r.ttls) : undefined)} | ${r.never} | ${pct(r.top1Blind, r.faults)} | ${r.worst.join('; ')} |\n`);
const total = rows.reduce((a, r) => ({ faults: a.faults + r.faults, top1: a.top1 + r.top1, top3: a.top3 + r.top3, cause: a.cause + r.cause, never: a.never + r.never, top1Blind: a.top1Blind + r.top1Blind }), { faults: 0, top1: 0, top3: 0, cause: 0, never: 0, top1Blind: 0 });
const top1 = total.top1 / Math.max(total.faults, 1);
const ttl = allTtls.length ? median(allTtls) : Number.NaN;
process.stdout.write(`\nlibrary: ${total.faults} faults in ${rows.length} scenarios x ${seeds} seed(s) (${firstSeed}-${lastSeed}): top-1 ${pct(total.top1, total.faults)} (target >= 90%: ${top1 >= 0.9 ? 'meets' : 'MISSES'}), top-3 ${pct(total.top3, total.faults)}, cause ${pct(total.cause, total.faults)}, median TTL ${s(ttl)} over the ${allTtls.length} localized (target <= 10 s: ${ttl <= 10_000 ? 'meets' : 'MISSES'}; ratio ${(10_000 / ttl).toFixed(1)}), ${total.never} never localized; top-1 without the kernel's process events ${pct(total.top1Blind, total.faults)}\n`);

// a 10-minute run: the longest recorded run with a profile (else the longest), repeated end to end
// with its faults and on-CPU samples, diagnosed whole, then its diagnosis.html rendered (flame
// graphs during and before each fault, heatmaps)
const tiledRun = longestProfiled ?? longest;
if (tiledRun) {
  const journal = readJournal(tiledRun.dir);
  const series = readSeriesFile(join(tiledRun.dir, journal.series.file));
  const profile = existsSync(join(tiledRun.dir, PROFILE_FILE)) ? readProfileFile(join(tiledRun.dir, PROFILE_FILE)) : [];
  const span = Math.max(...series.map((x) => x.t[x.t.length - 1] ?? 0)) + 1000;
  const copies = Math.ceil(600_000 / span);
  const tiled: Series[] = series.map((x) => {
    const t = new Float64Array(x.t.length * copies);
    const v = new Float64Array(x.v.length * copies);
    for (let c = 0; c < copies; c++) {
      for (let i = 0; i < x.t.length; i++) {
        t[c * x.t.length + i] = x.t[i]! + c * span;
        v[c * x.v.length + i] = x.v[i]!;
      }
    }
    return { ...x, t, v };
  });
  const faults: FaultRecord[] = [];
  const timeline: TimelineEvent[] = [];
  for (let c = 0; c < copies; c++) {
    for (const f of journal.faults) faults.push({ ...f, id: `${f.id}#${c}`, scheduledAt: f.scheduledAt + c * span, appliedAt: f.appliedAt === null ? null : f.appliedAt + c * span, healedAt: f.healedAt === null ? null : f.healedAt + c * span });
    for (const e of journal.timeline) timeline.push({ ...e, t: e.t + c * span });
  }
  const scenario = { ...journal.scenario, faults: journal.scenario.faults.flatMap((f) => Array.from({ length: copies }, (_, c) => ({ ...f, id: `${f.id}#${c}` }))) };
  const tiledProfile: ProfileSample[] = [];
  for (let c = 0; c < copies; c++) for (const p of profile) tiledProfile.push({ ...p, t: p.t + c * span });
  const times: number[] = [];
  const cardTimes: number[] = [];
  let faultsJudged = 0;
  let flames = 0;
  let htmlBytes = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const diagnosis = diagnoseRun({ ...journal, scenario, faults, timeline }, tiled);
    const t1 = performance.now();
    const html = renderDiagnosisHtml({ journal: { ...journal, scenario, faults, timeline, diagnosis }, series: tiled, evidence: [], profile: tiledProfile });
    const t2 = performance.now();
    faultsJudged = diagnosis.faults.length;
    flames = html.split('<svg class="flame"').length - 1;
    htmlBytes = html.length;
    times.push(t1 - t0);
    cardTimes.push(t2 - t0);
  }
  const ms = median(times);
  const cardMs = median(cardTimes);
  process.stdout.write(`a ${(copies * span / 60_000).toFixed(1)}-minute run (${journal.scenarioName} x ${copies}: ${tiled.length} series, ${tiled.reduce((n, x) => n + x.t.length, 0)} points, ${faultsJudged} faults, ${tiledProfile.length} profile samples): localized in ${ms.toFixed(0)} ms; localized and diagnosis.html rendered (${flames} flame graphs, ${(htmlBytes / 1e6).toFixed(1)} MB) in ${cardMs.toFixed(0)} ms, medians of 5 (target < 2000 ms: ${cardMs < 2000 ? 'meets' : 'MISSES'}; ratio ${(2000 / cardMs).toFixed(1)}); peak RSS ${peakRssMiB().toFixed(0)} MiB\n`);
  if (!profile.length) process.stdout.write('  no recorded run has an on-CPU profile: the card was timed without flame graphs\n');
}
