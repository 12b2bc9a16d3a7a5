import { createServer } from 'node:net';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../../core/errors.ts';
import type { AlertEpisodeRecord } from '../../core/journal.ts';
import { AlertmanagerServer, MetricsExporter, PrometheusServer, WebhookReceiver, episodesFromAlerts, type ExposedValue, type PrometheusJob } from '../../observe/index.ts';
import type { Alerting, RunContext } from '../context.ts';

/** The prefixes of moat's own series that a team's rules may use, beside what Prometheus scrapes itself. */
const EXPOSED_PREFIXES = ['load_', 'http_req_', 'iterations', 'bpf_', 'otel_', 'kafka_', 'moat_'];

/** A free port on an address: the kernel picks one, and it is handed on. */
async function freePort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The latest value of each of moat's own series, and of each load's last complete second. */
function exposedValues(run: RunContext): ExposedValue[] {
  const values: ExposedValue[] = [];
  for (const point of run.store.latest()) {
    if (EXPOSED_PREFIXES.some((p) => point.name.startsWith(p))) values.push({ name: point.name, labels: point.labels, value: point.v });
  }
  const latest = new Map<string, ExposedValue & { t: number }>();
  const complete = run.now() - 1000;
  for (const load of run.loads) {
    for (const point of load.series()) {
      if (point.t > complete) continue;
      const key = `${point.name}${JSON.stringify(point.labels)}`;
      const seen = latest.get(key);
      if (!seen || point.t > seen.t) latest.set(key, { name: point.name, labels: point.labels, value: point.v, t: point.t });
    }
  }
  for (const { name, labels, value } of latest.values()) values.push({ name, labels, value });
  return values;
}

/**
 * Starts the team's alerting for a run: moat's own series on a /metrics endpoint, an Alertmanager
 * with moat's webhook (when the scenario asks for one), and a Prometheus that scrapes what moat
 * scrapes at the same interval and evaluates the rule files. Everything binds to the twin's
 * gateway and is recorded in the ledger; the data folders carry the run id.
 */
export async function startAlerting(run: RunContext): Promise<Alerting | undefined> {
  const alerts = run.scenario.alerts;
  if (!alerts) return undefined;
  const twin = run.startedTwin;
  const host = twin.backend.gateway;
  const root = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
  const dataDirs: string[] = [];
  const dataDir = (name: string) => {
    const path = join(root, `moat-${run.runId}-${name}`);
    run.ledger.add({ kind: 'dir', path });
    mkdirSync(path, { mode: 0o700 });
    dataDirs.push(path);
    return path;
  };
  const exporter = await MetricsExporter.start({ host, values: () => exposedValues(run) });
  let webhook: WebhookReceiver | undefined;
  let alertmanager: AlertmanagerServer | undefined;
  if (alerts.alertmanager) {
    webhook = await WebhookReceiver.start(host);
    alertmanager = await AlertmanagerServer.start({
      ledger: run.ledger, dataDir: dataDir('alertmanager'), host, port: await freePort(host), logFile: join(run.logDir, 'alertmanager.log'),
      webhook: webhook.url, route: alerts.alertmanager,
    });
  }
  const jobs: PrometheusJob[] = run.scenario.observe.prometheus.map((name) => ({
    name, metricsPath: '/metrics',
    targets: twin.service(name).scrapeTargets().map((t) => ({ address: new URL(t.url).host, labels: t.labels })),
  }));
  jobs.push({ name: 'moat', metricsPath: '/metrics', targets: [{ address: exporter.address, labels: {} }] });
  const prometheus = await PrometheusServer.start({
    ledger: run.ledger, dataDir: dataDir('prometheus'), host, port: await freePort(host), name: 'prometheus', logFile: join(run.logDir, 'prometheus.log'),
    scrapeIntervalMs: run.scenario.observe.intervalMs, evaluationIntervalMs: alerts.evaluationIntervalMs, ruleFiles: alerts.ruleFiles, jobs,
    runLabel: run.runId, ...(alertmanager ? { alertmanager: alertmanager.address } : {}),
  });
  return { prometheus, exporter, ...(alertmanager ? { alertmanager } : {}), ...(webhook ? { webhook } : {}), dataDirs };
}

/**
 * Collects what the rules did (Prometheus' own ALERTS series over the run, on the run clock, and
 * what Alertmanager delivered), keeps a snapshot of the TSDB in the run folder for replays, and
 * stops everything. Whatever fails is reported in the journal; the rest still runs.
 */
export async function stopAlerting(run: RunContext, alerting: Alerting): Promise<void> {
  const alerts = run.scenario.alerts!;
  const zero = Date.parse(run.journal.clockZero ?? run.journal.startedAt);
  const record = run.journal.alerts!;
  try {
    const step = alerts.evaluationIntervalMs;
    const series = await alerting.prometheus.queryRange('ALERTS', zero, Date.now(), step);
    record.episodes = episodesFromAlerts(series, step).map((e): AlertEpisodeRecord => ({
      alert: e.alert, labels: e.labels, pendingAt: e.pendingAt - zero, firingAt: e.firingAt === null ? null : e.firingAt - zero, resolvedAt: e.resolvedAt === null ? null : e.resolvedAt - zero,
    }));
    record.tsdb = 'prometheus';
    await alerting.prometheus.snapshot(join(run.runDir, 'prometheus'));
  } catch (error) {
    record.prometheus.error = errorMessage(error);
  }
  if (alerting.webhook && record.alertmanager) record.alertmanager.notifications = alerting.webhook.notifications.length;
  run.alertNotifications = (alerting.webhook?.notifications ?? []).map((n) => ({ alert: n.alert, status: n.status, t: n.receivedAt - zero }));
  await alerting.prometheus.stop().catch((error: unknown) => run.journal.cleanup.leftovers.push(`prometheus: ${errorMessage(error)}`));
  await alerting.alertmanager?.stop().catch((error: unknown) => run.journal.cleanup.leftovers.push(`alertmanager: ${errorMessage(error)}`));
  await alerting.exporter.close();
  await alerting.webhook?.close();
  for (const dir of alerting.dataDirs) {
    rmSync(dir, { recursive: true, force: true });
    run.ledger.remove(`dir:${dir}`);
  }
}
