import { dirname, isAbsolute, resolve } from 'node:path';
import { readSeriesImport } from '../../detect/import.ts';
import { isInside, readRegularFile } from '../../core/files.ts';
import { matchesSeries } from '../../detect/static.ts';
import { BPF_PROBES, type BpfProbe } from '../../bpf/probes.ts';
import type { BaselineSources } from '../../detect/baselines.ts';
import { LineCounter, parseDocument, visit, isMap, isSeq, isPair, isScalar, type Node as YamlNode, type Document } from 'yaml';
import type { core as zcore } from 'zod';
import { InvalidScenarioError, type ScenarioProblem } from '../../core/errors.ts';
import { parseDurationMs, parseRatePerSec } from '../../core/units.ts';
import { parseSelector, parseThreshold } from '../../core/thresholds.ts';
import { scenarioDocument, type ScenarioDocument, type FaultDocument, type DetectorDocument } from './schema.ts';
import { ADAPTIVE_SETTINGS, type DetectorSpec, type AlarmRule } from '../../detect/index.ts';
import type { Scenario, ServiceSpec, FaultSpec, TargetSpec, GateSpec, LoadSpec, EtcdKvLoadSpec } from './model.ts';
import { GATE_METRICS } from './gates.ts';

type Path = ReadonlyArray<string | number>;

/** A scenario file larger than this is not one a person wrote (the library's largest is 2 KB). */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
/** The longest duration a timer can wait (2^31 - 1 ms, about 24.8 days): longer ones would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;
/** The highest arrival rate a load may ask for. */
export const MAX_RATE_PER_SEC = 100_000;
/** The hosts one netns twin holds. */
export const MAX_HOSTS = 200;

export interface ParseOptions {
  /**
   * Files a scenario names (imports, shapes) must lie in its own folder or below it, unless this is
   * set (`--allow-outside-paths`): a scenario from elsewhere must not make moat read any file.
   */
  allowOutsidePaths?: boolean;
}

/** Reads, parses and validates a scenario file. Throws InvalidScenarioError listing every problem. */
export async function loadScenarioFile(file: string, options: ParseOptions = {}): Promise<Scenario> {
  let text: string;
  try {
    text = readRegularFile(file, MAX_SCENARIO_BYTES);
  } catch (error) {
    throw new InvalidScenarioError(file, [{ path: '', message: `cannot read the scenario: ${(error as Error).message}` }]);
  }
  return parseScenario(text, file, options);
}

export function parseScenario(text: string, file = '<scenario>', options: ParseOptions = {}): Scenario {
  if (text.length > MAX_SCENARIO_BYTES) throw new InvalidScenarioError(file, [{ path: '', message: `the scenario has ${text.length} characters, more than the limit of ${MAX_SCENARIO_BYTES}` }]);
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const problems: ScenarioProblem[] = [];
  for (const error of document.errors) {
    problems.push({ path: '', line: lineCounter.linePos(error.pos[0]).line, message: `YAML syntax: ${error.message.split('\n')[0]}` });
  }
  // `__proto__` as a key would set an object's prototype instead of a field
  visit(document, { Pair(_, pair) {
    if (isScalar(pair.key) && String(pair.key.value) === '__proto__') problems.push({ path: '', line: rangeLine(pair.key, lineCounter), message: 'the key "__proto__" is not allowed' });
  } });
  if (problems.length > 0) throw new InvalidScenarioError(file, problems);

  const locate = (path: Path, keyOf = false) => lineOf(document, lineCounter, path, keyOf);
  let raw: unknown;
  try {
    // aliases are expanded with a budget: a "billion laughs" document is refused, not expanded
    raw = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new InvalidScenarioError(file, [{ path: '', message: `YAML aliases: ${(error as Error).message}` }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidScenarioError(file, [{ path: '', line: 1, message: 'expected a mapping with name, twin, baseline and faults' }]);
  }
  const parsed = scenarioDocument.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, raw, locate));
    throw new InvalidScenarioError(file, sortProblems(problems));
  }
  const scenario = buildScenario(parsed.data, (path, message) => problems.push({ path: formatPath(path), line: locate(path), message }), dirname(resolve(file)), options);
  if (problems.length > 0) throw new InvalidScenarioError(file, sortProblems(problems));
  return scenario!;
}

function sortProblems(problems: ScenarioProblem[]): ScenarioProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

function valueAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

function describeIssue(issue: zcore.$ZodIssue, root: unknown, locate: (path: Path, keyOf?: boolean) => number | undefined): ScenarioProblem[] {
  const path = issue.path as Path;
  const seen = valueAt(root, path);
  const at = (message: string, p: Path = path, keyOf = false): ScenarioProblem => ({ path: formatPath(p), line: locate(p, keyOf), message });
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => at(`unknown key ${JSON.stringify(key)}`, [...path, key], true));
    case 'invalid_type':
      if (seen === undefined) return [at(`missing required key (expected ${issue.expected})`)];
      return [at(`expected ${issue.expected === 'int' ? 'an integer' : issue.expected}, saw ${show(seen)}`)];
    case 'invalid_value':
      return [at(`expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, saw ${show(seen)}`)];
    case 'invalid_union': {
      const note = issue as { discriminator?: string; options?: unknown[] };
      if (note.discriminator !== undefined) {
        const options = (note.options ?? []).map((v) => JSON.stringify(v)).join(', ');
        // a bare name (`- sigma`) stands for `{ kind: sigma }`: report the name as written
        const parent = valueAt(root, path.slice(0, -1));
        if (typeof parent === 'string') return [at(`expected one of ${options}, saw ${show(parent)}`)];
        if (seen === undefined) return [at(`missing required key ${JSON.stringify(note.discriminator)} (one of ${options})`)];
        return [at(`expected one of ${options}, saw ${show(seen)}`)];
      }
      return [at(`does not match any allowed form, saw ${show(seen)}`)];
    }
    case 'too_small':
      if (issue.origin === 'array') return [at(`expected at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}, saw ${Array.isArray(seen) ? seen.length : show(seen)}`)];
      return [at(`expected at least ${issue.minimum}, saw ${show(seen)}`)];
    case 'too_big':
      return [at(`expected at most ${issue.maximum}, saw ${show(seen)}`)];
    case 'invalid_format':
      return [at(`${issue.message}, saw ${show(seen)}`)];
    case 'invalid_key':
      return [at(`invalid key: ${issue.issues.map((i) => i.message).join('; ')}`, path, true)];
    default:
      return [at(`${issue.message}, saw ${show(seen)}`)];
  }
}

/** The 1-based line of the node at `path`, or of its nearest existing ancestor. */
function lineOf(document: Document, lineCounter: LineCounter, path: Path, keyOf: boolean): number | undefined {
  let node: unknown = document.contents;
  let line = rangeLine(node, lineCounter);
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return line;
      if (keyOf && i === path.length - 1) return rangeLine(pair.key, lineCounter) ?? line;
      line = rangeLine(pair.key, lineCounter) ?? line;
      node = pair.value;
      line = rangeLine(node, lineCounter) ?? line;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
      if (node === undefined) return line;
      line = rangeLine(node, lineCounter) ?? line;
    } else {
      return line;
    }
  }
  return line;
}

function rangeLine(node: unknown, lineCounter: LineCounter): number | undefined {
  const range = (node as YamlNode | undefined)?.range;
  if (!range) return undefined;
  return lineCounter.linePos(range[0]).line;
}

type Report = (path: Path, message: string) => void;

/** Turns a schema-valid document into a Scenario, checking units and cross-references. */
function buildScenario(document: ScenarioDocument, report: Report, baseDir: string, options: ParseOptions): Scenario | undefined {
  const duration = (value: string, path: Path, { positive = true } = {}): number => {
    const ms = parseDurationMs(value);
    if (ms === undefined) {
      report(path, `expected a duration such as "20s", "500ms" or "1m", saw ${JSON.stringify(value.slice(0, 40))}`);
      return Number.NaN;
    }
    if (positive && ms <= 0) report(path, `expected a duration above zero, saw ${JSON.stringify(value)}`);
    if (!(ms <= MAX_DURATION_MS)) report(path, `expected at most ${MAX_DURATION_MS} ms (about 24.8 days, the longest a timer waits), saw ${JSON.stringify(value.slice(0, 40))}`);
    return ms;
  };
  /** A file the scenario names: resolved against its folder, and inside it unless allowed otherwise. */
  const namedFile = (source: string, path: Path): string | undefined => {
    const file = resolve(baseDir, source);
    if (!options.allowOutsidePaths && (isAbsolute(source) || !isInside(baseDir, source))) {
      report(path, `expected a file in the scenario's folder or below it, saw ${JSON.stringify(source)} (pass --allow-outside-paths to read files elsewhere)`);
      return undefined;
    }
    return file;
  };

  const services: ServiceSpec[] = Object.entries(document.twin.services).map(([name, spec]): ServiceSpec => {
    if (spec.kind === 'kafka') {
      const topics = Object.entries(spec.topics).map(([topic, t]) => {
        const path = ['twin', 'services', name, 'topics', topic];
        if (t.replicationFactor > spec.replicas) report([...path, 'replicationFactor'], `expected at most ${spec.replicas} (the brokers of ${name}), saw ${t.replicationFactor}`);
        if (t.minInsyncReplicas > t.replicationFactor) report([...path, 'minInsyncReplicas'], `expected at most the replication factor (${t.replicationFactor}), saw ${t.minInsyncReplicas}`);
        return { name: topic, ...t };
      });
      const heap = /^(\d+)([mg])$/i.exec(spec.heap);
      if (!heap) report(['twin', 'services', name, 'heap'], `expected a heap size such as "512m" or "1g", saw ${JSON.stringify(spec.heap)}`);
      const heapMb = heap ? Number(heap[1]) * (heap[2]!.toLowerCase() === 'g' ? 1024 : 1) : Number.NaN;
      if (heapMb < 128) report(['twin', 'services', name, 'heap'], `a Kafka broker needs at least 128m of heap, saw ${JSON.stringify(spec.heap)}`);
      return { name, kind: 'kafka', replicas: spec.replicas, topics, heapMb, replicaLagMs: duration(spec.replicaLag, ['twin', 'services', name, 'replicaLag']) };
    }
    if (spec.kind === 'redis') return { name, kind: 'redis', replicas: 1 };
    if (spec.kind === 'app') {
      const path = ['twin', 'services', name];
      if ((spec.app === undefined) === (spec.command === undefined)) report(path, 'expected exactly one of app: ledger (moat\'s Go service) or command: [your binary, args...]');
      if (spec.command?.some((part) => /[\u0000-\u001f\u007f]/.test(part))) report([...path, 'command'], 'expected no control characters (newlines, tabs, NUL) in the command');
      if (spec.config !== undefined && spec.app !== 'ledger') report([...path, 'config'], 'config applies to app: ledger (your own binary reads its own configuration)');
      const config = spec.config ?? { memoryLimitMiB: 256, breaker: { errorRate: 0.3, timeoutMs: 200, sleepWindowMs: 2000, minRequests: 10 } };
      return {
        name, kind: 'app', replicas: 1, port: spec.port, health: spec.health, env: spec.env, links: spec.links, config,
        ...(spec.app ? { app: spec.app } : {}), ...(spec.command ? { command: spec.command } : {}),
      };
    }
    return {
      name,
      kind: spec.kind,
      replicas: spec.replicas,
      heartbeatMs: duration(spec.heartbeat, ['twin', 'services', name, 'heartbeat']),
      electionMs: duration(spec.election, ['twin', 'services', name, 'election']),
      preVote: spec.preVote,
    };
  });
  if (services.length === 0) report(['twin', 'services'], 'expected at least one service');
  const hosts = services.reduce((sum, s) => sum + s.replicas, 0);
  if (hosts > MAX_HOSTS) report(['twin', 'services'], `a netns twin holds at most ${MAX_HOSTS} hosts, and these services need ${hosts}`);
  for (const service of services) {
    if (service.kind === 'etcd' && service.electionMs < 5 * service.heartbeatMs) {
      report(['twin', 'services', service.name, 'election'], `etcd needs election >= 5 x heartbeat (${service.heartbeatMs} ms), saw ${service.electionMs} ms`);
    }
  }
  const serviceByName = new Map(services.map((s) => [s.name, s]));
  for (const service of services) {
    if (service.kind !== 'app') continue;
    service.links.forEach((link, i) => {
      const path = ['twin', 'services', service.name, 'links', i];
      const target = serviceByName.get(link);
      if (!target) report(path, `expected a service of the twin (${[...serviceByName.keys()].filter((n) => n !== service.name).join(', ')}), saw ${JSON.stringify(link)}`);
      else if (target.kind !== 'redis' && target.kind !== 'etcd') report(path, `links go to redis or etcd services so far; ${link} is ${target.kind}`);
    });
    if (service.app === 'ledger') {
      const kinds = service.links.map((l) => serviceByName.get(l)?.kind);
      if (!kinds.includes('redis') || !kinds.includes('etcd')) report(['twin', 'services', service.name, 'links'], `the ledger app needs a link to a redis service and to an etcd service (it stores balances in Redis and reads its config from etcd), saw [${service.links.join(', ')}]`);
    }
  }

  const load: LoadSpec[] = document.load.map((spec, i): LoadSpec => {
    const target = serviceByName.get(spec.target);
    const wants = spec.kind === 'kafka' ? 'kafka' : spec.kind === 'http' ? 'app' : 'etcd';
    if (!target) report(['load', i, 'target'], `expected a service of the twin (${[...serviceByName.keys()].join(', ')}), saw ${JSON.stringify(spec.target)}`);
    else if (target.kind !== wants) report(['load', i, 'target'], `${article(spec.kind)} ${spec.kind} load needs ${article(wants)} ${wants} service, and ${spec.target} is ${target.kind}`);
    const ratePerSec = parseRatePerSec(spec.rate);
    if (ratePerSec === undefined || ratePerSec <= 0) report(['load', i, 'rate'], `expected a rate such as "200/s" or "30/m", saw ${JSON.stringify(spec.rate.slice(0, 40))}`);
    else if (ratePerSec > MAX_RATE_PER_SEC) report(['load', i, 'rate'], `expected at most ${MAX_RATE_PER_SEC}/s, saw ${JSON.stringify(spec.rate)}`);
    if (spec.kind === 'kafka') {
      if (target?.kind === 'kafka' && !target.topics.some((t) => t.name === spec.topic)) {
        report(['load', i, 'topic'], `expected a topic of ${spec.target} (${target.topics.map((t) => t.name).join(', ') || 'it declares none: add one under twin.services.' + spec.target + '.topics'}), saw ${JSON.stringify(spec.topic)}`);
      }
      return { name: spec.name, kind: 'kafka', target: spec.target, topic: spec.topic, ratePerSec: ratePerSec ?? Number.NaN, timeoutMs: duration(spec.timeout, ['load', i, 'timeout']), messageBytes: spec.messageBytes };
    }
    if (spec.kind === 'http') {
      const requests = spec.requests.map((r) => ({ name: r.name ?? `${r.method} ${r.path.split('?')[0]}`, method: r.method, path: r.path, weight: r.weight, ...(r.body === undefined ? {} : { body: r.body }) }));
      const names = new Set<string>();
      requests.forEach((r, j) => {
        if (names.has(r.name)) report(['load', i, 'requests', j], `two requests are named ${JSON.stringify(r.name)}: give them distinct name:`);
        names.add(r.name);
        if (r.method === 'GET' && r.body !== undefined) report(['load', i, 'requests', j, 'body'], 'a GET request has no body');
      });
      return { name: spec.name, kind: 'http', target: spec.target, ratePerSec: ratePerSec ?? Number.NaN, timeoutMs: duration(spec.timeout, ['load', i, 'timeout']), requests };
    }
    if (Math.abs(spec.mix.put + spec.mix.get - 1) > 1e-9) report(['load', i, 'mix'], `expected put + get = 1, saw ${spec.mix.put} + ${spec.mix.get}`);
    let shape: EtcdKvLoadSpec['shape'];
    if (spec.shape) {
      const file = namedFile(spec.shape.file, ['load', i, 'shape', 'file']) ?? '';
      if (file) try {
        const imported = readSeriesImport(file);
        const chosen = spec.shape.series === undefined ? imported.series : imported.series.filter((s) => matchesSeries(s, spec.shape!.series!));
        if (chosen.length !== 1) report(['load', i, 'shape', spec.shape.series === undefined ? 'file' : 'series'], `expected exactly one series in ${spec.shape.file}${spec.shape.series ? ` matching ${JSON.stringify(spec.shape.series)}` : ''}, saw ${chosen.length}${spec.shape.series === undefined && chosen.length > 1 ? ' (name one with series:)' : ''}`);
      } catch (error) {
        report(['load', i, 'shape', 'file'], `cannot use ${spec.shape.file}: ${(error as Error).message}`);
      }
      shape = { file, speedup: spec.shape.speedup, ...(spec.shape.series ? { series: spec.shape.series } : {}) };
    }
    return { name: spec.name, kind: spec.kind, target: spec.target, ratePerSec: ratePerSec ?? Number.NaN, mix: spec.mix, timeoutMs: duration(spec.timeout, ['load', i, 'timeout']), client: spec.client, ...(shape ? { shape } : {}) };
  });
  const loadNames = new Set<string>();
  load.forEach((spec, i) => {
    if (loadNames.has(spec.name)) report(['load', i, 'name'], `duplicate load name ${JSON.stringify(spec.name)}`);
    loadNames.add(spec.name);
  });

  const prometheus = document.observe.prometheus ?? services.filter((s) => s.kind === 'etcd' || s.kind === 'app').map((s) => s.name);
  prometheus.forEach((name, i) => {
    if (!serviceByName.has(name)) report(['observe', 'prometheus', i], `expected a service of the twin (${[...serviceByName.keys()].join(', ')}), saw ${JSON.stringify(name)}`);
  });

  const bpf: BpfProbe[] = [];
  (document.observe.bpf ?? ['tcp-retransmit', 'tcp-state', 'process-exits']).forEach((name, i) => {
    if ((BPF_PROBES as readonly string[]).includes(name)) bpf.push(name as BpfProbe);
    else report(['observe', 'bpf', i], `expected one of ${BPF_PROBES.join(', ')}, saw ${JSON.stringify(name)}`);
  });
  const warmupMs = duration(document.baseline.warmup, ['baseline', 'warmup']);
  const detectors = document.baseline.detectors.map((d, i) => buildDetector(d, ['baseline', 'detectors', i], duration, report));
  const detectorNames = new Set<string>();
  detectors.forEach((d, i) => {
    if (detectorNames.has(d.name)) report(['baseline', 'detectors', i], `duplicate detector name ${JSON.stringify(d.name)}: give each a distinct name:`);
    detectorNames.add(d.name);
  });
  const faults = document.faults.map((fault, i) => buildFault(fault, i, serviceByName, duration, report));
  const ids = new Set<string>();
  faults.forEach((fault, i) => {
    if (ids.has(fault.id)) report(['faults', i, 'id'], `duplicate fault id ${JSON.stringify(fault.id)}`);
    ids.add(fault.id);
    if (fault.atMs < warmupMs) {
      report(['faults', i, 'at'], `fault starts at ${fault.atMs} ms, inside the ${warmupMs} ms warm-up: detectors need a fault-free baseline`);
    }
  });

  const gates: GateSpec[] = [];
  for (const [metricSource, thresholdSources] of Object.entries(document.gates)) {
    const selector = parseSelector(metricSource);
    if (typeof selector === 'string') {
      report(['gates', metricSource], selector);
      continue;
    }
    const known = Object.hasOwn(GATE_METRICS, selector.metric) ? GATE_METRICS[selector.metric] : undefined;
    if (!known) {
      report(['gates', metricSource], `unknown metric ${JSON.stringify(selector.metric)} (expected one of ${Object.keys(GATE_METRICS).join(', ')})`);
      continue;
    }
    for (const tag of Object.keys(selector.tags)) {
      if (!known.tags.includes(tag)) report(['gates', metricSource], `metric ${selector.metric} has no tag ${JSON.stringify(tag)} (tags: ${known.tags.join(', ') || 'none'})`);
    }
    const thresholds = thresholdSources.map((source, i) => {
      const threshold = parseThreshold(source);
      if (typeof threshold === 'string') report(['gates', metricSource, i], threshold);
      return threshold;
    });
    gates.push({ selector, thresholds: thresholds.filter((t) => typeof t !== 'string') });
  }

  return {
    name: document.name,
    ...(document.description === undefined ? {} : { description: document.description }),
    ...(document.seed === undefined ? {} : { seed: document.seed }),
    twin: { backend: document.twin.backend, services },
    load,
    observe: { intervalMs: duration(document.observe.interval, ['observe', 'interval']), prometheus, bpf },
    baseline: { warmupMs, detectors, ...(document.baseline.series ? { series: document.baseline.series } : {}), sources: baselineSources(document.baseline, baseDir, namedFile, report) },
    faults,
    recoveryMs: duration(document.recovery, ['recovery'], { positive: false }),
    gates,
  };
}

/** Earlier runs and imported series, paths resolved against the scenario's folder; each import is parsed now. */
function baselineSources(baseline: ScenarioDocument['baseline'], baseDir: string, namedFile: (source: string, path: Path) => string | undefined, report: Report): BaselineSources {
  const sources: BaselineSources = {};
  if (baseline.history) sources.runs = { dir: resolve(baseDir, baseline.history.runs), last: baseline.history.last };
  if (baseline.import) {
    sources.imports = baseline.import.map((entry, i) => {
      const file = namedFile(entry.file, ['baseline', 'import', i, 'file']) ?? '';
      if (file) try {
        const parsed = readSeriesImport(file);
        if (parsed.series.every((s) => s.t.length < 5)) report(['baseline', 'import', i, 'file'], `${entry.file} has fewer than 5 points per series: too little to learn from`);
      } catch (error) {
        report(['baseline', 'import', i, 'file'], `cannot use ${entry.file}: ${(error as Error).message}`);
      }
      return { file, series: entry.series, scale: entry.scale, speedup: entry.speedup };
    });
  }
  return sources;
}

const STATIC_THRESHOLD = /^\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*$/;

function buildDetector(document: DetectorDocument, path: Path, duration: (value: string, path: Path) => number, report: Report): DetectorSpec {
  const given: AlarmRule | undefined = document.rule === undefined ? undefined
    : document.rule === 'breach' ? { kind: 'breach' }
    : 'consecutive' in document.rule ? { kind: 'consecutive', n: document.rule.consecutive }
    : { kind: 'k-of-m', k: document.rule.k, m: document.rule.m };
  const rule: AlarmRule = given ?? { kind: 'k-of-m', k: 3, m: 5 };
  if (rule.kind === 'k-of-m' && rule.k > rule.m) report([...path, 'rule'], `k must not exceed m, saw k ${rule.k} of m ${rule.m}`);
  const common = { name: document.name ?? (document.kind === 'adaptive' ? `adaptive-${document.preset}` : document.kind), rule, direction: document.direction };
  switch (document.kind) {
    case 'robust-z': return { ...common, kind: 'robust-z', threshold: document.threshold };
    case 'prophet': return { ...common, kind: 'prophet', level: document.level, samples: document.samples };
    case 'mstl': return { ...common, kind: 'mstl', level: document.level, periodsMs: document.periods.map((p, i) => duration(p, [...path, 'periods', i])) };
    case 'static': {
      const thresholds = Object.entries(document.thresholds).flatMap(([series, text]) => {
        const match = STATIC_THRESHOLD.exec(text);
        if (!match) {
          report([...path, 'thresholds', series], `expected a threshold such as "> 0.05" or "<= 1", saw ${JSON.stringify(text)}`);
          return [];
        }
        return [{ series, operator: match[1] as '<', value: Number(match[2]) }];
      });
      if (Object.keys(document.thresholds).length === 0) report([...path, 'thresholds'], 'expected at least one series threshold');
      return { ...common, kind: 'static', thresholds };
    }
    case 'adaptive': {
      const allowed = ADAPTIVE_SETTINGS[document.preset];
      for (const key of ['sigma', 'slope', 'history', 'window', 'quantile', 'margin', 'for', 'aggregate', 'minWindow', 'maxWindow', 'p50Rise', 'rule'] as const) {
        if (document[key] !== undefined && !allowed.includes(key)) report([...path, key], `the ${document.preset} preset does not use ${key} (it takes: ${allowed.join(', ')})`);
      }
      const ms = (key: 'history' | 'window' | 'for' | 'aggregate' | 'minWindow' | 'maxWindow') => (document[key] === undefined ? {} : { [`${key}Ms`]: duration(document[key]!, [...path, key]) });
      return {
        name: common.name, direction: common.direction, kind: 'adaptive', preset: document.preset,
        ...(given ? { rule: given } : {}),
        ...(document.series ? { series: document.series } : {}),
        ...(document.sigma === undefined ? {} : { sigma: document.sigma }),
        ...(document.slope === undefined ? {} : { slope: document.slope }),
        ...(document.quantile === undefined ? {} : { quantile: document.quantile }),
        ...(document.margin === undefined ? {} : { margin: document.margin }),
        ...(document.p50Rise === undefined ? {} : { p50Rise: document.p50Rise }),
        ...ms('history'), ...ms('window'), ...ms('for'), ...ms('aggregate'), ...ms('minWindow'), ...ms('maxWindow'),
      };
    }
  }
}

const ROLE_TARGET = /^([a-z0-9][a-z0-9-]*)\.(leader|follower|random)$/;

/** Parses `etcd.leader`, `etcd.follower`, `etcd.random` or a member name such as `etcd-2`. */
export function parseTarget(source: string, services: ReadonlyMap<string, ServiceSpec>): TargetSpec | string {
  const role = ROLE_TARGET.exec(source);
  if (role) {
    const service = role[1]!;
    if (!services.has(service)) return `expected a service of the twin (${[...services.keys()].join(', ')}) before ".${role[2]}", saw ${JSON.stringify(service)}`;
    return { kind: 'role', service, role: role[2] as 'leader', source };
  }
  for (const service of services.values()) {
    for (let i = 1; i <= service.replicas; i++) {
      if (source === `${service.name}-${i}`) return { kind: 'member', service: service.name, member: source, source };
    }
  }
  const members = [...services.values()].flatMap((s) => Array.from({ length: s.replicas }, (_, i) => `${s.name}-${i + 1}`));
  return `expected <service>.leader, <service>.follower, <service>.random or a member (${members.join(', ')}), saw ${JSON.stringify(source)}`;
}

function buildFault(fault: FaultDocument, index: number, services: ReadonlyMap<string, ServiceSpec>, duration: (value: string, path: Path) => number, report: Report): FaultSpec {
  const base = { id: fault.id ?? `fault-${index + 1}`, atMs: duration(fault.at, ['faults', index, 'at']), durationMs: duration(fault.duration, ['faults', index, 'duration']) };
  const target = (source: string, path: Path): TargetSpec => {
    const parsed = parseTarget(source, services);
    if (typeof parsed === 'string') {
      report(path, parsed);
      return { kind: 'member', service: '', member: source, source };
    }
    return parsed;
  };
  if (fault.type === 'leader-churn') {
    const path: Path = ['faults', index, 'target'];
    const controller = fault.target.endsWith('.controller');
    const name = controller ? fault.target.slice(0, -'.controller'.length) : fault.target;
    const service = services.get(name);
    const kafkaTargets = [...services.values()].filter((s) => s.kind === 'kafka').map((s) => `${s.name}.controller`);
    if (!service) report(path, `expected a service of the twin whose leaders move (${[...services.keys(), ...kafkaTargets].join(', ')}), saw ${JSON.stringify(fault.target)}`);
    else if (service.replicas < 2) report(path, `${name} has ${service.replicas} member: leadership has nowhere to move`);
    else if (controller && service.kind !== 'kafka') report(path, `.controller applies to a Kafka service (${kafkaTargets.join(', ') || 'the twin has none'}); for ${name}, target the service itself`);
    if (service?.kind !== 'kafka' || controller) {
      if (fault.topic !== undefined) report(['faults', index, 'topic'], `topic applies to Kafka partition leaders (target: a Kafka service), not to ${fault.target}`);
      if (fault.partition !== undefined) report(['faults', index, 'partition'], `partition applies to Kafka partition leaders (target: a Kafka service), not to ${fault.target}`);
    } else {
      const topic = fault.topic === undefined ? undefined : service.topics.find((t) => t.name === fault.topic);
      if (fault.topic !== undefined && !topic) report(['faults', index, 'topic'], `expected a topic of ${name} (${service.topics.map((t) => t.name).join(', ') || 'none declared'}), saw ${JSON.stringify(fault.topic)}`);
      if (fault.topic === undefined && service.topics.length === 0) report(path, `${name} declares no topics: partition leaders have nothing to churn (add twin.services.${name}.topics, or target ${name}.controller)`);
      if (fault.partition !== undefined) {
        if (fault.topic === undefined) report(['faults', index, 'partition'], 'partition needs topic');
        else if (topic && fault.partition >= topic.partitions) report(['faults', index, 'partition'], `${fault.topic} has partitions 0-${topic.partitions - 1}, saw ${fault.partition}`);
      }
      if (topic && topic.replicationFactor < 2) report(['faults', index, 'topic'], `${fault.topic} has one replica: its leadership has nowhere to move`);
    }
    const everyMs = duration(fault.every, ['faults', index, 'every']);
    if (everyMs < 200) report(['faults', index, 'every'], `expected at least 200ms between moves, saw ${JSON.stringify(fault.every)}`);
    return {
      ...base, type: 'leader-churn', service: name, everyMs,
      ...(controller ? { controller: true } : {}),
      ...(fault.topic === undefined ? {} : { topic: fault.topic }),
      ...(fault.partition === undefined ? {} : { partition: fault.partition }),
    };
  }
  if (fault.type === 'toxic') {
    const path: Path = ['faults', index, 'link'];
    const match = /^([a-z0-9][a-z0-9-]*)\s*->\s*([a-z0-9][a-z0-9-]*)$/.exec(fault.link);
    const apps = [...services.values()].filter((s) => s.kind === 'app');
    const links = apps.flatMap((a) => (a.kind === 'app' ? a.links.map((l) => `${a.name}->${l}`) : []));
    if (!match) report(path, `expected app->service, e.g. ${links[0] ?? 'ledger->redis'}, saw ${JSON.stringify(fault.link)}`);
    else {
      const app = services.get(match[1]!);
      if (!app || app.kind !== 'app' || !app.links.includes(match[2]!)) report(path, `expected a link the twin declares (${links.join(', ') || 'none: declare links: on an app service'}), saw ${JSON.stringify(fault.link)}`);
    }
    const allowed = TOXIC_ATTRIBUTES[fault.toxic];
    for (const [key, value] of Object.entries(fault.attributes)) {
      if (!Object.hasOwn(allowed, key)) report(['faults', index, 'attributes', key], `the ${fault.toxic} toxic has no attribute ${JSON.stringify(key)} (it takes: ${Object.keys(allowed).join(', ') || 'none'})`);
      else if (value < 0 || !Number.isFinite(value)) report(['faults', index, 'attributes', key], `expected a number >= 0, saw ${value}`);
    }
    for (const [key, required] of Object.entries(allowed)) {
      if (required && fault.attributes[key] === undefined) report(['faults', index, 'attributes'], `the ${fault.toxic} toxic needs ${key} (${TOXIC_HELP[fault.toxic]})`);
    }
    if (fault.toxic === 'down' && (fault.toxicity !== 1 || fault.stream !== 'downstream')) report(['faults', index, 'toxic'], 'down disables the proxies: toxicity and stream do not apply');
    return { ...base, type: 'toxic', app: match?.[1] ?? '', service: match?.[2] ?? '', toxic: fault.toxic, attributes: fault.attributes, stream: fault.stream, toxicity: fault.toxicity };
  }
  if (fault.type === 'process') {
    if (fault.action === 'pause' && fault.restart === false) report(['faults', index, 'restart'], 'restart applies to kill only');
    return { ...base, type: 'process', action: fault.action, target: target(fault.target, ['faults', index, 'target']), restart: fault.restart };
  }
  switch (fault.mode) {
    case 'isolate':
      return { ...base, type: 'partition', mode: 'isolate', target: target(fault.target, ['faults', index, 'target']) };
    case 'one-way':
      return {
        ...base, type: 'partition', mode: 'one-way', target: target(fault.target, ['faults', index, 'target']),
        ...(fault.to ? { to: fault.to.map((t, j) => target(t, ['faults', index, 'to', j])) } : {}),
      };
    case 'split': {
      const groups = fault.groups.map((group, g) => group.map((t, j) => target(t, ['faults', index, 'groups', g, j])));
      const seen = new Map<string, number>();
      groups.forEach((group, g) => group.forEach((t, j) => {
        if (t.kind === 'member') {
          if (seen.has(t.member)) report(['faults', index, 'groups', g, j], `${t.member} is already in group ${seen.get(t.member)}`);
          seen.set(t.member, g);
        }
      }));
      return { ...base, type: 'partition', mode: 'split', groups };
    }
  }
}

/** Toxiproxy's attributes per toxic (true: required), as its README documents them. */
export const TOXIC_ATTRIBUTES: Record<string, Record<string, boolean>> = {
  latency: { latency: true, jitter: false },
  bandwidth: { rate: true },
  slow_close: { delay: true },
  timeout: { timeout: true },
  reset_peer: { timeout: false },
  slicer: { average_size: true, size_variation: false, delay: false },
  limit_data: { bytes: true },
  down: {},
};

const TOXIC_HELP: Record<string, string> = {
  latency: 'ms added to each chunk of data; jitter: +/- ms',
  bandwidth: 'KB/s',
  slow_close: 'ms before the close is passed on',
  timeout: 'ms before the connection is closed; 0: data held until the toxic goes',
  reset_peer: 'ms before the TCP reset',
  slicer: 'bytes per slice; size_variation bytes; delay in microseconds',
  limit_data: 'bytes before the connection is closed',
  down: '',
};

function article(word: string): string {
  return /^(?:[aeio]|http|etcd)/.test(word) ? 'an' : 'a';
}
