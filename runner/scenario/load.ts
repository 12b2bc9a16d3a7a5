import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, parseDocument, visit, isMap, isSeq, isPair, isScalar, type Node as YamlNode, type Document } from 'yaml';
import type { core as zcore, ZodType } from 'zod';
import { InvalidScenarioError, type ScenarioProblem } from '../../core/errors.ts';
import { parseCpuMillis, parseDurationMs, parseMemoryBytes, parseRatePerSec } from '../../core/units.ts';
import { parsePassRate, parseSelector, parseThreshold } from '../../core/thresholds.ts';
import { isInside, readRegularFile } from '../../core/files.ts';
import { readSeriesImport } from '../../core/series-import.ts';
import { memberNames, type AlertRule, type AlertsSpec, type BaselineSources, type DetectorKindName, type FaultSpec, type FaultTypeName, type GateSpec, type LoadKindName, type LoadSpec, type Scenario, type ScenarioCheck, type ServiceKindName, type ServiceSpec, type TargetSpec, type ResourceLimits, type TwinBackendName } from '../../core/scenario.ts';
import { SERVICE_KINDS, serviceKindOf } from '../../twin/index.ts';
import { LOAD_KINDS, buildExecutor } from '../../load/index.ts';
import { FAULT_TYPES } from '../../injectors/index.ts';
import { DETECTOR_KINDS } from '../../detect/index.ts';
import { BPF_PROBES, DEFAULT_BPF_PROBES } from '../../bpf/index.ts';
import { checkRuleFile, readAlertRules, MAX_RULE_FILE_BYTES } from '../../observe/index.ts';
import { scenarioDocument, type ScenarioDocument } from './schema.ts';
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
  /** runs the twin on this backend whatever the file says (`--backend`): the same scenario on netns or containers */
  backend?: TwinBackendName;
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

/**
 * A YAML file checked against a schema, with every problem at its file, line and path: syntax,
 * `__proto__` keys, alias bombs (a budget of 100), the schema's issues. Scenario and schedule
 * files both come through here. `what` says what the top level should be.
 */
export function parseYamlFile<S extends ZodType>(text: string, file: string, schema: S, what: string, maxBytes: number, kind = 'file'): { data: S["_output"]; locate: (path: Path, keyOf?: boolean) => number | undefined } {
  if (text.length > maxBytes) throw new InvalidScenarioError(file, [{ path: '', message: `the ${kind} has ${text.length} characters, more than the limit of ${maxBytes}` }]);
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
    throw new InvalidScenarioError(file, [{ path: '', line: 1, message: `expected a mapping with ${what}` }]);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...describeIssue(issue, raw, locate));
    throw new InvalidScenarioError(file, sortProblems(problems));
  }
  return { data: parsed.data, locate };
}

export function parseScenario(text: string, file = '<scenario>', options: ParseOptions = {}): Scenario {
  const { data, locate } = parseYamlFile(text, file, scenarioDocument, 'name, twin, baseline and faults', MAX_SCENARIO_BYTES, 'scenario');
  const problems: ScenarioProblem[] = [];
  const scenario = buildScenario(data, (path, message) => problems.push({ path: formatPath(path), line: locate(path), message }), dirname(resolve(file)), options);
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

/** The checks extensions get while they build their part (see ScenarioCheck in core/scenario.ts). */
function makeCheck(report: Report, baseDir: string, options: ParseOptions, services: ReadonlyMap<string, ServiceSpec>): ScenarioCheck {
  return {
    report,
    services,
    duration(value, path, { positive = true } = {}) {
      const ms = parseDurationMs(value);
      if (ms === undefined) {
        report(path, `expected a duration such as "20s", "500ms" or "1m", saw ${JSON.stringify(value.slice(0, 40))}`);
        return Number.NaN;
      }
      if (positive && ms <= 0) report(path, `expected a duration above zero, saw ${JSON.stringify(value)}`);
      if (!(ms <= MAX_DURATION_MS)) report(path, `expected at most ${MAX_DURATION_MS} ms (about 24.8 days, the longest a timer waits), saw ${JSON.stringify(value.slice(0, 40))}`);
      return ms;
    },
    rate(value, path) {
      const ratePerSec = parseRatePerSec(value);
      if (ratePerSec === undefined || ratePerSec <= 0) report(path, `expected a rate such as "200/s" or "30/m", saw ${JSON.stringify(value.slice(0, 40))}`);
      else if (ratePerSec > MAX_RATE_PER_SEC) report(path, `expected at most ${MAX_RATE_PER_SEC}/s, saw ${JSON.stringify(value)}`);
      return ratePerSec ?? Number.NaN;
    },
    file(source, path) {
      if (!options.allowOutsidePaths && (isAbsolute(source) || !isInside(baseDir, source))) {
        report(path, `expected a file in the scenario's folder or below it, saw ${JSON.stringify(source)} (pass --allow-outside-paths to read files elsewhere)`);
        return undefined;
      }
      return resolve(baseDir, source);
    },
    target(source, path) {
      const parsed = parseTarget(source, services);
      if (typeof parsed === 'string') {
        report(path, parsed);
        return { kind: 'member', service: '', member: source, source };
      }
      return parsed;
    },
  };
}

/**
 * Turns a schema-valid document into a Scenario: each service, load, fault and detector is built
 * by its kind's descriptor (units, defaults, its own checks), then the parts that tie them together
 * (load targets, prometheus targets, fault timing, gates) are checked here.
 */
function buildScenario(document: ScenarioDocument, report: Report, baseDir: string, options: ParseOptions): Scenario | undefined {
  const serviceByName = new Map<string, ServiceSpec>();
  const check = makeCheck(report, baseDir, options, serviceByName);

  const services: ServiceSpec[] = Object.entries(document.twin.services).map(([name, raw]) => {
    const kind = SERVICE_KINDS[kindOf(raw) as ServiceKindName];
    const spec = kind.build(name, raw, check);
    const resources = (raw as { resources?: { cpu?: string; memory?: string } }).resources;
    if (resources) spec.resources = buildResources(resources, ['twin', 'services', name, 'resources'], report);
    serviceByName.set(name, spec);
    return spec;
  });
  if (services.length === 0) report(['twin', 'services'], 'expected at least one service');
  const hosts = services.reduce((sum, s) => sum + s.replicas, 0);
  if (hosts > MAX_HOSTS) report(['twin', 'services'], `a netns twin holds at most ${MAX_HOSTS} hosts, and these services need ${hosts}`);
  for (const spec of services) serviceKindOf(spec).validate?.(spec, check);

  const load: LoadSpec[] = document.load.map((raw, i) => {
    const kind = LOAD_KINDS[kindOf(raw) as LoadKindName];
    const doc = raw as { name: string; target: string; rate?: string; timeout: string };
    const path = ['load', i];
    const target = serviceByName.get(doc.target);
    if (!target) report([...path, 'target'], `expected a service of the twin (${[...serviceByName.keys()].join(', ')}), saw ${JSON.stringify(doc.target)}`);
    else if (target.kind !== kind.drives) report([...path, 'target'], `${article(kind.kind)} ${kind.kind} load needs ${article(kind.drives)} ${kind.drives} service, and ${doc.target} is ${target.kind}`);
    const { executor, ratePerSec } = buildExecutor(raw as Parameters<typeof buildExecutor>[0], path, check);
    const common = { name: doc.name, target: doc.target, ratePerSec, timeoutMs: check.duration(doc.timeout, [...path, 'timeout']), executor };
    return kind.build(raw, common, path, check);
  });
  const loadNames = new Set<string>();
  load.forEach((spec, i) => {
    if (loadNames.has(spec.name)) report(['load', i, 'name'], `duplicate load name ${JSON.stringify(spec.name)}`);
    loadNames.add(spec.name);
  });

  const prometheus = document.observe.prometheus ?? services.filter((s) => serviceKindOf(s).scrapedByDefault).map((s) => s.name);
  prometheus.forEach((name, i) => {
    if (!serviceByName.has(name)) report(['observe', 'prometheus', i], `expected a service of the twin (${[...serviceByName.keys()].join(', ')}), saw ${JSON.stringify(name)}`);
  });

  const bpf: string[] = [];
  (document.observe.bpf ?? DEFAULT_BPF_PROBES).forEach((name, i) => {
    if ((BPF_PROBES as readonly string[]).includes(name)) bpf.push(name);
    else report(['observe', 'bpf', i], `expected one of ${BPF_PROBES.join(', ')}, saw ${JSON.stringify(name)}`);
  });
  const warmupMs = check.duration(document.baseline.warmup, ['baseline', 'warmup']);
  const detectors = document.baseline.detectors.map((raw, i) => DETECTOR_KINDS[kindOf(raw) as DetectorKindName].build(raw, ['baseline', 'detectors', i], check));
  const detectorNames = new Set<string>();
  detectors.forEach((d, i) => {
    if (detectorNames.has(d.name)) report(['baseline', 'detectors', i], `duplicate detector name ${JSON.stringify(d.name)}: give each a distinct name:`);
    detectorNames.add(d.name);
  });

  const faults = document.faults.map((raw, i): FaultSpec => {
    const type = FAULT_TYPES[typeOf(raw) as FaultTypeName];
    const doc = raw as { id?: string; at: string; duration: string };
    const base = { id: doc.id ?? `fault-${i + 1}`, atMs: check.duration(doc.at, ['faults', i, 'at']), durationMs: check.duration(doc.duration, ['faults', i, 'duration']) };
    return type.build(raw, base, ['faults', i], check);
  });
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
    if (selector.metric.startsWith('alert') && !document.alerts) report(['gates', metricSource], `${selector.metric} needs an alerts: section (the team's rule files)`);
    for (const tag of Object.keys(selector.tags)) {
      if (!known.tags.includes(tag)) report(['gates', metricSource], `metric ${selector.metric} has no tag ${JSON.stringify(tag)} (tags: ${known.tags.join(', ') || 'none'})`);
    }
    let passRate: number | undefined;
    const thresholds = thresholdSources.flatMap((source, i) => {
      const rate = parsePassRate(source);
      if (typeof rate === 'string') report(['gates', metricSource, i], rate);
      if (typeof rate === 'number') {
        if (passRate !== undefined) report(['gates', metricSource, i], 'one pass_rate per gate');
        passRate = rate;
      }
      if (rate !== undefined) return [];
      const threshold = parseThreshold(source);
      if (typeof threshold === 'string') report(['gates', metricSource, i], threshold);
      return [threshold];
    });
    const valid = thresholds.filter((t) => typeof t !== 'string');
    if (passRate !== undefined && thresholdSources.length === 1) report(['gates', metricSource], 'pass_rate needs a threshold beside it: the rate is how often that threshold passes');
    gates.push({ selector, thresholds: valid, ...(passRate === undefined ? {} : { passRate }) });
  }

  const intervalMs = check.duration(document.observe.interval, ['observe', 'interval']);
  const alerts = document.alerts ? buildAlerts(document.alerts, intervalMs, faults, check) : undefined;
  // members that get cgroups: limits declared, or a fault that changes them
  const backend = options.backend ?? document.twin.backend;
  if (backend !== 'containers') {
    for (const spec of services) {
      if (spec.kind === 'app' && spec.image) report(['twin', 'services', spec.name, spec.build ? 'build' : 'image'], 'an image runs on twin.backend: containers (this twin is netns)');
    }
  }
  const limited = [...new Set([...services.filter((s) => s.resources).map((s) => s.name), ...faults.filter((f) => FAULT_TYPES[f.type].usesCgroups).map((f) => FAULT_TYPES[f.type].service(f))])];
  return {
    name: document.name,
    ...(document.description === undefined ? {} : { description: document.description }),
    ...(alerts ? { alerts } : {}),
    ...(document.seed === undefined ? {} : { seed: document.seed }),
    twin: { backend, services, ...(limited.length > 0 ? { limited } : {}) },
    load,
    observe: { intervalMs, prometheus, bpf },
    baseline: { warmupMs, detectors, ...(document.baseline.series ? { series: document.baseline.series } : {}), sources: baselineSources(document.baseline, baseDir, check) },
    faults,
    recoveryMs: check.duration(document.recovery, ['recovery'], { positive: false }),
    gates,
  };
}

/**
 * The team's alert rules: each file must be a regular file in the scenario's folder that
 * `promtool check rules` accepts (its problems are listed with the rule file's own line); `covers`
 * may only name alerts of those files and fault types or ids of this scenario.
 */
function buildAlerts(document: NonNullable<ScenarioDocument['alerts']>, observeIntervalMs: number, faults: readonly FaultSpec[], check: ScenarioCheck): AlertsSpec {
  const ruleFiles: string[] = [];
  const rules: AlertRule[] = [];
  document.rules.forEach((source, i) => {
    const path = ['alerts', 'rules', i];
    const file = check.file(source, path);
    if (!file) return;
    try {
      readRegularFile(file, MAX_RULE_FILE_BYTES);
    } catch (error) {
      check.report(path, `cannot use ${source}: ${(error as Error).message}`);
      return;
    }
    const problems = checkRuleFile(file, source);
    for (const problem of problems) check.report(path, `${problem.file}${problem.line === undefined ? '' : `:${problem.line}`}: ${problem.message}`);
    if (problems.length > 0) return;
    ruleFiles.push(file);
    rules.push(...readAlertRules(file, source));
  });
  const evaluationIntervalMs = document.evaluationInterval === undefined ? observeIntervalMs : check.duration(document.evaluationInterval, ['alerts', 'evaluationInterval']);
  const names = new Set(rules.map((r) => r.name));
  const scope = new Set([...faults.map((f) => f.type), ...faults.map((f) => f.id)]);
  for (const [alert, covered] of Object.entries(document.covers)) {
    if (ruleFiles.length === document.rules.length && !names.has(alert)) check.report(['alerts', 'covers', alert], `no alert named ${JSON.stringify(alert)} in the rule files (alerts: ${[...names].join(', ') || 'none'})`);
    covered.forEach((what, j) => {
      if (!scope.has(what)) check.report(['alerts', 'covers', alert, j], `expected a fault type or fault id of this scenario (${[...scope].join(', ')}), saw ${JSON.stringify(what)}`);
    });
  }
  const am = document.alertmanager;
  return {
    ruleFiles, rules, evaluationIntervalMs, covers: document.covers,
    ...(am ? { alertmanager: { groupWaitMs: check.duration(am.groupWait, ['alerts', 'alertmanager', 'groupWait']), groupIntervalMs: check.duration(am.groupInterval, ['alerts', 'alertmanager', 'groupInterval']), repeatIntervalMs: check.duration(am.repeatInterval, ['alerts', 'alertmanager', 'repeatInterval']) } } : {}),
  };
}

/** The `kind` (or `type`) of a document that passed the schema's discriminated union. */
function kindOf(document: unknown): string {
  return String((document as { kind: unknown }).kind);
}

function typeOf(document: unknown): string {
  return String((document as { type: unknown }).type);
}

/** Earlier runs and imported series, paths resolved against the scenario's folder; each import is parsed now. */
function baselineSources(baseline: ScenarioDocument['baseline'], baseDir: string, check: ScenarioCheck): BaselineSources {
  const sources: BaselineSources = {};
  if (baseline.history) sources.runs = { dir: resolve(baseDir, baseline.history.runs), last: baseline.history.last };
  if (baseline.import) {
    sources.imports = baseline.import.map((entry, i) => {
      const file = check.file(entry.file, ['baseline', 'import', i, 'file']) ?? '';
      if (file) {
        try {
          const parsed = readSeriesImport(file);
          if (parsed.series.every((s) => s.t.length < 5)) check.report(['baseline', 'import', i, 'file'], `${entry.file} has fewer than 5 points per series: too little to learn from`);
        } catch (error) {
          check.report(['baseline', 'import', i, 'file'], `cannot use ${entry.file}: ${(error as Error).message}`);
        }
      }
      return { file, series: entry.series, scale: entry.scale, speedup: entry.speedup };
    });
  }
  return sources;
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
    if (memberNames(service).includes(source)) return { kind: 'member', service: service.name, member: source, source };
  }
  const members = [...services.values()].flatMap((s) => memberNames(s));
  return `expected <service>.leader, <service>.follower, <service>.random or a member (${members.join(', ')}), saw ${JSON.stringify(source.slice(0, 60))}`;
}

function article(word: string): string {
  return /^(?:[aeio]|http|etcd)/.test(word) ? 'an' : 'a';
}

/** `resources:` in Kubernetes' units: cpu in cores or millicores, memory in bytes with an SI or binary suffix. */
export function buildResources(document: { cpu?: string; memory?: string }, path: Path, report: Report): ResourceLimits {
  const limits: ResourceLimits = {};
  if (document.cpu !== undefined) {
    const cpu = parseCpuMillis(document.cpu);
    if (cpu === undefined) report([...path, 'cpu'], `expected a CPU quantity such as "2000m" or "0.5" (1m to 256 cores), saw ${JSON.stringify(document.cpu.slice(0, 40))}`);
    else limits.cpuMillis = cpu;
  }
  if (document.memory !== undefined) {
    const memory = parseMemoryBytes(document.memory);
    if (memory === undefined) report([...path, 'memory'], `expected a memory quantity such as "2Gi" or "512Mi" (4Mi to 1Ti), saw ${JSON.stringify(document.memory.slice(0, 40))}`);
    else limits.memoryBytes = memory;
  }
  if (document.cpu === undefined && document.memory === undefined) report(path, 'expected cpu:, memory: or both');
  return limits;
}
