import { join } from 'node:path';
import { errorMessage } from '../../core/errors.ts';
import { BpfObserver, bpfAvailability, isBpfProbe } from '../../bpf/index.ts';
import { OtlpReceiver, PrometheusServer, Scraper } from '../../observe/index.ts';
import { startAlerting } from './alerts.ts';
import { serviceKindOf } from '../../twin/index.ts';
import type { RunContext } from '../context.ts';
import { pollLeaders } from '../leaders.ts';
import { pollCgroups } from '../cgroups.ts';

/**
 * Observation, before and after t = 0: eBPF probes and the OTLP receiver come up first; then the
 * run clock starts (t = 0: the twin is ready) and scraping, leader polling and the services' own
 * observers begin.
 */
export async function startObservation(run: RunContext): Promise<void> {
  const { scenario } = run;
  const twin = run.startedTwin;
  if (scenario.observe.bpf.length > 0) await startProbes(run);
  // twin services send their telemetry here (OTEL_EXPORTER_OTLP_ENDPOINT in the twin)
  run.otlp = await run.activity('otlp-receiver', () => OtlpReceiver.start({
    host: twin.backend.gateway, port: twin.backend.otlpPort, store: run.store,
    epochMs: () => (run.journal.clockZero ? Date.parse(run.journal.clockZero) : Date.now()),
  }), { output: (r) => ({ url: r.url }) });
  run.journal.otlp.url = run.otlp.url;

  // t = 0: the twin is ready; observation and load begin
  run.clock.start();
  run.journal.clockZero = new Date().toISOString();
  const targets = scenario.observe.prometheus.flatMap((name) => twin.service(name).scrapeTargets());
  if (targets.length > 0) {
    run.scraper = new Scraper(targets, run.store, () => run.now());
    run.scraper.start(scenario.observe.intervalMs);
  }
  run.stops.push(pollLeaders(twin, run.clock, (service, from, to, term) => run.recordLeaderChange({ service, from, to, term }), (t, agreed) => run.leaderAgreedAt.push({ t, agreed }), run.store));
  if (scenario.alerts) await startTeamAlerting(run);
  const limited = new Map([...twin.hosts.keys()].flatMap((host) => {
    const resources = twin.backend.resources(host);
    return resources ? [[host, resources] as const] : [];
  }));
  if (limited.size > 0) run.stops.push(pollCgroups(limited, run.clock, scenario.observe.intervalMs, run.store));
  for (const service of twin.services.values()) {
    const stop = service.observe?.({ store: run.store, now: () => run.now(), intervalMs: scenario.observe.intervalMs, leaderChange: (change) => run.recordLeaderChange(change), configWrite: (write) => run.recordConfigWrite(write) });
    if (stop) run.stops.push(stop);
  }
}

/** The team's rules through a real Prometheus; a failure to start one fails the run (the gates need it). */
async function startTeamAlerting(run: RunContext): Promise<void> {
  const alerts = run.scenario.alerts!;
  run.journal.alerts = {
    prometheus: { version: await PrometheusServer.version(), url: null }, alertmanager: alerts.alertmanager ? { url: null, notifications: 0 } : null,
    rules: alerts.rules.map((r) => ({ name: r.name, file: r.file, line: r.line, expr: r.expr, forMs: r.forMs })),
    episodes: [], detections: [], blind: [], unpaged: [], tsdb: null,
  };
  const alerting = await run.activity('alerting', () => startAlerting(run), { output: (a) => ({ prometheus: a?.prometheus.url, alertmanager: a?.alertmanager?.address }) });
  run.alerting = alerting;
  if (alerting) {
    run.journal.alerts.prometheus.url = alerting.prometheus.url;
    if (run.journal.alerts.alertmanager && alerting.alertmanager) run.journal.alerts.alertmanager.url = `http://${alerting.alertmanager.address}`;
  }
}

/** eBPF probes on the twin's processes; when they cannot run, the run goes on and the journal says why. */
async function startProbes(run: RunContext): Promise<void> {
  const { scenario } = run;
  const twin = run.startedTwin;
  const availability = await bpfAvailability();
  if (!availability.ok) {
    run.journal.bpf.reason = availability.reason;
    run.notify.phase('bpf', `eBPF probes skipped: ${availability.reason}`);
    return;
  }
  const hostOfIp = new Map<string, string>([[twin.backend.gateway, 'moat'], ...[...twin.hosts.values()].map((h): [string, string] => [h.ip, h.name])]);
  const hostOfPid = new Map(twin.backend.processes.map((p) => [p.pid, p.host]));
  const kinds = scenario.twin.services.map((s) => ({ spec: s, kind: serviceKindOf(s) }));
  const goBinaries = [...new Set((await Promise.all(kinds.map(({ spec, kind }) => kind.goBinaries?.(spec) ?? Promise.resolve([])))).flat())];
  try {
    const bpf = await run.activity('bpf-attach', () => BpfObserver.start({
      probes: scenario.observe.bpf.filter(isBpfProbe), intervalMs: scenario.observe.intervalMs, comms: [...new Set(kinds.map(({ spec, kind }) => kind.processName(spec)))],
      goBinaries, ledger: run.ledger, dir: join(run.runDir, 'bpf'), now: () => run.now(), store: run.store,
      hostOfIp: (ip) => hostOfIp.get(ip), hostOfPid: (pid) => hostOfPid.get(pid),
      onEvent: (detail) => run.record('process-exit', detail),
    }));
    run.bpf = bpf;
    run.journal.bpf = { enabled: true, probes: scenario.observe.bpf, attachedProbes: await bpf.attached };
  } catch (error) {
    run.journal.bpf.reason = errorMessage(error);
    run.notify.phase('bpf', `eBPF probes failed to start: ${run.journal.bpf.reason}`);
  }
}
