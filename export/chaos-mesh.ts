import type { FaultSpec, Scenario, TargetSpec } from '../core/scenario.ts';

/**
 * A scenario's faults as Chaos Mesh resources for a Kubernetes cluster: one Workflow whose entry
 * runs every fault in parallel, each a Serial of a Suspend (its `at`) and its chaos (its
 * `duration` as the template's deadline). What moat does that Chaos Mesh cannot (verification,
 * TTD and localization scoring, leader roles resolved at the moment a fault fires, Toxiproxy's
 * connection-level toxics, config pushes) is listed in `skipped` and in the YAML's header.
 *
 * Pods are chosen by label: every pod of service S carries `<labelKey>: S` in `namespace`; member
 * `S-n` (moat counts from 1) is the StatefulSet pod `S-(n-1)` (Kubernetes counts from 0).
 */
export interface ChaosMeshOptions {
  namespace: string;
  labelKey: string;
}

export interface ChaosMeshExport {
  workflow: Record<string, unknown>;
  /** faults with no Chaos Mesh equivalent, and why */
  skipped: { id: string; reason: string }[];
  /** faults mapped with a difference worth knowing */
  approximated: { id: string; note: string }[];
}

type Selector = Record<string, unknown>;

export function exportChaosMesh(scenario: Scenario, options: ChaosMeshOptions): ChaosMeshExport {
  const skipped: ChaosMeshExport['skipped'] = [];
  const approximated: ChaosMeshExport['approximated'] = [];
  const templates: Record<string, unknown>[] = [];
  const entry = dnsName(`${scenario.name}-faults`);
  const children: string[] = [];
  const serviceOf = new Map(scenario.twin.services.map((s) => [s.name, s]));

  const byService = (service: string): Selector => ({ namespaces: [options.namespace], labelSelectors: { [options.labelKey]: service } });
  /** the pods a target names, and Chaos Mesh's mode for them */
  const pick = (target: TargetSpec, id: string): { selector: Selector; mode: string } => {
    if (target.kind === 'member') {
      const ordinal = Number(/-(\d+)$/.exec(target.member)?.[1] ?? '1') - 1;
      return { selector: { namespaces: [options.namespace], pods: { [options.namespace]: [`${target.service}-${ordinal}`] } }, mode: 'all' };
    }
    approximated.push({ id, note: `${target.source}: Chaos Mesh cannot choose the ${target.role} when the fault fires; one pod of ${target.service} is picked at random (mode: one)` });
    return { selector: byService(target.service), mode: 'one' };
  };

  for (const fault of scenario.faults) {
    const chaos = chaosOf(fault, { byService, pick, approximated, skipped, serviceOf });
    if (!chaos) continue;
    const name = dnsName(fault.id);
    const steps: string[] = [];
    if (fault.atMs > 0) {
      templates.push({ name: `${name}-wait`, templateType: 'Suspend', deadline: goDuration(fault.atMs) });
      steps.push(`${name}-wait`);
    }
    templates.push({ name: `${name}-chaos`, templateType: chaos.kind, deadline: goDuration(fault.durationMs), [lowerFirst(chaos.kind)]: chaos.spec });
    steps.push(`${name}-chaos`);
    templates.push({ name, templateType: 'Serial', children: steps });
    children.push(name);
  }
  templates.unshift({ name: entry, templateType: 'Parallel', children });
  const workflow = {
    apiVersion: 'chaos-mesh.org/v1alpha1',
    kind: 'Workflow',
    metadata: { name: entry, namespace: options.namespace, labels: { 'app.kubernetes.io/managed-by': 'moat', 'moat.dev/scenario': dnsName(scenario.name) } },
    spec: { entry, templates },
  };
  return { workflow, skipped, approximated };
}

interface Context {
  byService(service: string): Selector;
  pick(target: TargetSpec, id: string): { selector: Selector; mode: string };
  approximated: ChaosMeshExport['approximated'];
  skipped: ChaosMeshExport['skipped'];
  serviceOf: Map<string, Scenario['twin']['services'][number]>;
}

/** One fault as a Chaos Mesh chaos kind and its spec (no duration: the Workflow's deadline is the duration). */
function chaosOf(fault: FaultSpec, context: Context): { kind: 'NetworkChaos' | 'PodChaos' | 'StressChaos'; spec: Record<string, unknown> } | undefined {
  const { byService, pick, approximated, skipped } = context;
  switch (fault.type) {
    case 'partition': {
      if (fault.mode === 'split') {
        if (fault.groups.length !== 2) {
          skipped.push({ id: fault.id, reason: `a split into ${fault.groups.length} groups: a NetworkChaos partitions one selector from one target` });
          return undefined;
        }
        const [a, b] = fault.groups.map((group) => group.map((target) => pick(target, fault.id)));
        if (a!.length !== 1 || b!.length !== 1) {
          skipped.push({ id: fault.id, reason: 'a split whose groups hold several members: a NetworkChaos takes one selector per side' });
          return undefined;
        }
        return { kind: 'NetworkChaos', spec: { action: 'partition', mode: a![0]!.mode, selector: a![0]!.selector, direction: 'both', target: { mode: b![0]!.mode, selector: b![0]!.selector } } };
      }
      const victim = pick(fault.target, fault.id);
      const service = fault.target.service;
      if (fault.mode === 'one-way') {
        // moat's one-way drops what the target sends to the others; Chaos Mesh's direction "to" is the same side
        const to = fault.to && fault.to.length === 1 ? pick(fault.to[0]!, fault.id) : { selector: byService(service), mode: 'all' };
        return { kind: 'NetworkChaos', spec: { action: 'partition', mode: victim.mode, selector: victim.selector, direction: 'to', target: { mode: to.mode, selector: to.selector } } };
      }
      approximated.push({ id: fault.id, note: `isolate: the chosen pod is partitioned from the pods labelled ${service} (the target selector holds it too); moat leaves its own clients' side uncut, a NetworkChaos between pods does too` });
      return { kind: 'NetworkChaos', spec: { action: 'partition', mode: victim.mode, selector: victim.selector, direction: 'both', target: { mode: 'all', selector: byService(service) } } };
    }
    case 'process': {
      const victim = pick(fault.target, fault.id);
      if (fault.action === 'pause') {
        approximated.push({ id: fault.id, note: 'pause: Chaos Mesh has no SIGSTOP; pod-failure replaces the containers\' images until the end, so the pod is unavailable but not frozen with its state' });
        return { kind: 'PodChaos', spec: { action: 'pod-failure', mode: victim.mode, selector: victim.selector } };
      }
      if (!fault.restart) approximated.push({ id: fault.id, note: 'kill without restart: Kubernetes restarts a killed pod whatever the scenario says' });
      return { kind: 'PodChaos', spec: { action: 'pod-kill', mode: victim.mode, selector: victim.selector } };
    }
    case 'toxic': {
      // Toxiproxy acts on the app's connections to the service: from the app's pods to the service's
      const link = { mode: 'all', selector: byService(fault.app), direction: 'to', target: { mode: 'all', selector: byService(fault.service) } };
      if (fault.stream === 'upstream') approximated.push({ id: fault.id, note: 'upstream toxic: applied to the app\'s traffic towards the service' });
      if (fault.toxicity < 1) approximated.push({ id: fault.id, note: `toxicity ${fault.toxicity}: a NetworkChaos acts on every packet` });
      switch (fault.toxic) {
        case 'latency':
          return { kind: 'NetworkChaos', spec: { action: 'delay', ...link, delay: { latency: `${fault.attributes.latency ?? 0}ms`, jitter: `${fault.attributes.jitter ?? 0}ms` } } };
        case 'bandwidth':
          return { kind: 'NetworkChaos', spec: { action: 'bandwidth', ...link, bandwidth: { rate: `${Math.max(1, Math.round((fault.attributes.rate ?? 0) * 8))}kbps`, limit: 20_971_520, buffer: 10_000 } } };
        case 'down':
          return { kind: 'NetworkChaos', spec: { action: 'partition', ...link, direction: 'both' } };
        default:
          skipped.push({ id: fault.id, reason: `the ${fault.toxic} toxic acts on TCP connections (Toxiproxy); Chaos Mesh's network faults act on packets` });
          return undefined;
      }
    }
    case 'leader-churn':
      skipped.push({ id: fault.id, reason: 'leader churn moves leaders through the service\'s own admin API; Chaos Mesh has no such action' });
      return undefined;
    case 'config':
      skipped.push({ id: fault.id, reason: 'a config push writes the app\'s config key in etcd; Chaos Mesh has no such action' });
      return undefined;
    case 'cpu-throttle': {
      // a lowered quota is an in-place resize, not a Chaos Mesh action; a StressChaos that burns
      // the difference inside the pod leaves the service about the throttled share
      const limit = context.serviceOf.get(fault.target.service)?.resources?.cpuMillis;
      if (limit === undefined) {
        skipped.push({ id: fault.id, reason: `${fault.target.service} has no CPU limit to stress against: a StressChaos takes CPU from the pod's limit, and without one it only adds load` });
        return undefined;
      }
      const victim = pick(fault.target, fault.id);
      const workers = Math.max(1, Math.ceil(limit / 1000));
      const load = Math.min(100, Math.max(1, Math.round(((limit - fault.cpuMillis) / (workers * 1000)) * 100)));
      approximated.push({ id: fault.id, note: `cpu-throttle to ${fault.cpuMillis}m: the quota stays ${limit}m; ${workers} stress worker${workers === 1 ? '' : 's'} at ${load}% compete for it inside the pod, which leaves the service about ${fault.cpuMillis}m (contention, not CFS throttling)` });
      return { kind: 'StressChaos', spec: { mode: victim.mode, selector: victim.selector, stressors: { cpu: { workers, load } } } };
    }
    case 'memory-squeeze': {
      const limit = context.serviceOf.get(fault.target.service)?.resources?.memoryBytes;
      if (limit === undefined) {
        skipped.push({ id: fault.id, reason: `${fault.target.service} has no memory limit to squeeze: a StressChaos takes memory from the pod's limit, and without one it only adds load` });
        return undefined;
      }
      const victim = pick(fault.target, fault.id);
      const size = `${Math.floor((limit - fault.memoryBytes) / 1024 ** 2)}MiB`;
      approximated.push({ id: fault.id, note: `memory-squeeze to ${fault.memoryBytes / 1024 ** 2} MiB: the limit stays ${limit / 1024 ** 2} MiB; a stress worker holds ${size} of it inside the pod, which leaves the service about the squeezed amount (the stressor, not the service, may be the one OOM-killed)` });
      return { kind: 'StressChaos', spec: { mode: victim.mode, selector: victim.selector, stressors: { memory: { workers: 1, size } } } };
    }
    default:
      skipped.push({ id: (fault as { id: string }).id, reason: `no Chaos Mesh equivalent for fault type ${(fault as { type: string }).type}` });
      return undefined;
  }
}

/** A Go duration, as Chaos Mesh reads one: "45s", "1500ms". */
function goDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function lowerFirst(text: string): string {
  return text[0]!.toLowerCase() + text.slice(1);
}

/** A Kubernetes object name: lower-case letters, digits and dashes, at most 63. */
function dnsName(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'moat';
}
