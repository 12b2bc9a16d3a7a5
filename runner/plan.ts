import { formatBytes, formatMs } from '../core/units.ts';
import type { Scenario } from '../core/scenario.ts';
import { serviceKindOf } from '../twin/index.ts';
import { loadKindOf } from '../load/index.ts';
import { faultTypeOf } from '../injectors/index.ts';
import { describeDetector } from '../detect/index.ts';

/** The plan a run follows, one line per step: what `moat run --dry-run` prints. */
export function describePlan(scenario: Scenario): string[] {
  const limits = (s: (typeof scenario.twin.services)[number]) => (s.resources ? `, limits per member: ${[s.resources.cpuMillis === undefined ? '' : `cpu ${s.resources.cpuMillis}m`, s.resources.memoryBytes === undefined ? '' : `memory ${formatBytes(s.resources.memoryBytes)}`].filter(Boolean).join(', ')}` : '');
  const services = scenario.twin.services.map((s) => `${s.name} = ${s.replicas} x ${s.kind} (${serviceKindOf(s).describe(s)}${limits(s)})`).join('; ');
  return [
    `twin (${scenario.twin.backend}): ${services}`,
    ...scenario.load.map((l) => `load ${l.name}: ${loadKindOf(l).describe(l)}`),
    `observe: Prometheus scrape of ${scenario.observe.prometheus.join(', ') || 'nothing'} every ${formatMs(scenario.observe.intervalMs)}; leader polled every 200 ms; eBPF probes: ${scenario.observe.bpf.join(', ') || 'none'}`,
    `warm-up: ${formatMs(scenario.baseline.warmupMs)}, detectors fitted on it: ${scenario.baseline.detectors.map(describeDetector).join('; ')}`,
    ...(scenario.baseline.sources.runs ? [`baseline also from the warm-ups of the last ${scenario.baseline.sources.runs.last} completed runs in ${scenario.baseline.sources.runs.dir}`] : []),
    ...(scenario.baseline.sources.imports ?? []).map((i) => `baseline for ${i.series} imported from ${i.file}${i.scale === 1 ? '' : ` x ${i.scale}`}`),
    ...(scenario.alerts ? [`alerts: ${scenario.alerts.rules.length} rules (${[...new Set(scenario.alerts.rules.map((r) => r.file))].join(', ')}) evaluated every ${formatMs(scenario.alerts.evaluationIntervalMs)} by a real Prometheus scraping what moat scrapes${scenario.alerts.alertmanager ? `; an Alertmanager (group_wait ${formatMs(scenario.alerts.alertmanager.groupWaitMs)}) pages moat's webhook` : ''}; each rule scored like a detector`] : []),
    ...scenario.faults.map((f) => faultTypeOf(f).describe(f)),
    `recovery: ${formatMs(scenario.recoveryMs)} after the last heal, then every acknowledged write${scenario.load.some((l) => l.kind === 'kafka') ? ' and message' : ''} is read back`,
    ...scenario.gates.map((g) => `gate ${g.selector.source}: ${g.thresholds.map((t) => t.source).join(', ')}`),
  ];
}

/** When the last fault heals plus the recovery window: the length of the observed run. */
export function runLengthMs(scenario: Scenario): number {
  return Math.max(scenario.baseline.warmupMs, ...scenario.faults.map((f) => f.atMs + f.durationMs)) + scenario.recoveryMs;
}
