import { memberNames, type Scenario, type ServiceSpec } from '../../core/scenario.ts';
import { TwinError } from '../../core/errors.ts';
import type { ScrapeTarget } from '../../core/series.ts';
import type { Cut, LeaderView, ManagedProcess, MemberView, PartitionPlan, ProcessState, ServiceMember, StartedTwin, TwinBackend, TwinHost, TwinService } from '../../twin/index.ts';
import type { Clock } from '../clock.ts';

/**
 * An in-memory twin for fast tests of the run loop: hosts, processes and partitions are records,
 * and a service's leader follows raft's rule in miniature (the first member that can reach a
 * majority leads; a new leader is elected `electionMs` after the old one was cut off or killed).
 * Faults act on it through the same backend operations as on a real twin.
 */
export class FakeTwin implements StartedTwin {
  readonly runId: string;
  readonly backend: FakeBackend;
  readonly services = new Map<string, TwinService>();
  readonly hosts: ReadonlyMap<string, TwinHost>;
  downed = false;

  constructor(spec: Scenario['twin'], runId: string, clock: Clock, options: { electionMs?: number } = {}) {
    this.runId = runId;
    this.backend = new FakeBackend(runId, spec.services.flatMap((s) => memberNames(s)));
    this.hosts = this.backend.hosts;
    for (const service of spec.services) this.services.set(service.name, new FakeService(service, this.backend, clock, options.electionMs ?? 1000));
  }

  service(name: string): TwinService {
    const service = this.services.get(name);
    if (!service) throw new TwinError(`no service ${JSON.stringify(name)} in the twin`);
    return service;
  }

  of<T extends TwinService>(name: string, type: { readonly prototype: T; readonly name: string }): T {
    const service = this.service(name);
    if (!Object.prototype.isPrototypeOf.call(type.prototype, service)) throw new TwinError(`${name} is not a ${type.name} in a fake twin`);
    return service as T;
  }

  serviceOf(host: string): TwinService {
    const service = [...this.services.values()].find((s) => s.members.some((m) => m.name === host));
    if (!service) throw new TwinError(`no service has a member ${host}`);
    return service;
  }

  probePort(host: string): number {
    return this.serviceOf(host).probePort;
  }

  async down(): Promise<void> {
    this.downed = true;
    await this.backend.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}

class FakeProcess implements ManagedProcess {
  readonly host: string;
  readonly name: string;
  readonly pid: number;
  readonly logFile = '/dev/null';
  readonly exited: Promise<number>;
  stopping = false;
  #state: ProcessState = 'running';
  #exit: (code: number) => void = () => undefined;

  constructor(host: string, pid: number) {
    this.host = host;
    this.name = host;
    this.pid = pid;
    this.exited = new Promise((resolve) => (this.#exit = resolve));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.#end(143);
  }

  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void {
    if (this.#state === 'gone') return;
    if (signal === 'SIGKILL') this.#end(137);
    else this.#state = signal === 'SIGSTOP' ? 'stopped' : 'running';
  }

  state(): ProcessState {
    return this.#state;
  }

  #end(code: number): void {
    if (this.#state === 'gone') return;
    this.#state = 'gone';
    this.#exit(code);
  }
}

/** Hosts on 10.99.0.x, processes by record, cuts as sets of host pairs. */
export class FakeBackend implements TwinBackend {
  readonly runId: string;
  readonly gateway = '127.0.0.1';
  readonly otlpPort = 0;
  readonly hosts = new Map<string, TwinHost>();
  readonly processes: FakeProcess[] = [];
  readonly cuts = new Set<Set<string>>();
  #nextPid = 1000;

  constructor(runId: string, hostNames: readonly string[]) {
    this.runId = runId;
    hostNames.forEach((name, i) => this.hosts.set(name, { name, ip: `10.99.0.${10 + i}` }));
  }

  host(name: string): TwinHost {
    const host = this.hosts.get(name);
    if (!host) throw new TwinError(`no host ${name}`);
    return host;
  }

  /** a process at once (the fake services build their members in constructors) */
  start(host: string): FakeProcess {
    const process = new FakeProcess(host, this.#nextPid++);
    this.processes.push(process);
    return process;
  }

  async spawn(host: string): Promise<FakeProcess> {
    return this.start(host);
  }

  async exec(): Promise<{ code: number; stdout: string; stderr: string }> {
    return { code: 0, stdout: '', stderr: '' };
  }

  /** Whether traffic from one host to another passes every cut in place. */
  passes(from: string, to: string): boolean {
    return ![...this.cuts].some((pairs) => pairs.has(`${from}>${to}`));
  }

  async canConnect(fromHost: string, ip: string): Promise<boolean> {
    const to = [...this.hosts.values()].find((h) => h.ip === ip)?.name;
    return to !== undefined && this.passes(fromHost, to);
  }

  /** The fake's hosts have no cgroups. */
  resources(): undefined {
    return undefined;
  }

  async cut(plan: PartitionPlan): Promise<Cut> {
    const all = [...this.hosts.keys()];
    const pairs = new Set<string>();
    const both = (a: string, b: string) => pairs.add(`${a}>${b}`).add(`${b}>${a}`);
    if (plan.mode === 'isolate') for (const h of all) if (h !== plan.target) both(plan.target, h);
    if (plan.mode === 'one-way') for (const to of plan.to) pairs.add(`${plan.from}>${to}`);
    if (plan.mode === 'split') plan.groups.forEach((g, i) => plan.groups.slice(i + 1).forEach((other) => g.forEach((a) => other.forEach((b) => both(a, b)))));
    this.cuts.add(pairs);
    const hosts = plan.mode === 'isolate' ? [plan.target] : plan.mode === 'one-way' ? [...plan.to] : plan.groups.flat();
    return {
      hosts,
      heal: async () => {
        this.cuts.delete(pairs);
      },
      droppedPackets: async () => hosts.map((host) => ({ host, packets: this.cuts.has(pairs) ? 10 : 0 })),
    };
  }

  async destroy(): Promise<void> {
    this.cuts.clear();
    for (const process of this.processes) await process.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.destroy();
  }
}

/** A service whose leader moves as raft's would, in miniature; anything can be faulted, nothing is real. */
class FakeService implements TwinService {
  readonly spec: ServiceSpec;
  readonly members: ServiceMember[];
  readonly healthCheck = 'a fake health check';
  readonly probePort = 1;
  readonly clientPort = 2;
  readonly leaderBased: boolean;
  readonly leaderWaitMs: number;
  readonly #backend: FakeBackend;
  readonly #clock: Clock;
  readonly #electionMs: number;
  #leader: string | null = null;
  #term = 1;
  #lostAt: number | null = null;

  constructor(spec: ServiceSpec, backend: FakeBackend, clock: Clock, electionMs: number) {
    this.spec = spec;
    this.#backend = backend;
    this.#clock = clock;
    this.#electionMs = electionMs;
    this.leaderBased = spec.replicas > 1;
    this.leaderWaitMs = 5 * electionMs;
    this.members = memberNames(spec).map((name) => ({ name, ip: backend.host(name).ip, process: backend.start(name), args: [] }));
    this.#leader = this.members[0]!.name;
  }

  member(name: string): ServiceMember {
    const member = this.members.find((m) => m.name === name);
    if (!member) throw new TwinError(`no member ${name}`);
    return member;
  }

  /** Members that run and reach a majority of the service. */
  #quorate(name: string): boolean {
    const peers = this.members.filter((m) => m.process.state() === 'running' && (m.name === name || (this.#backend.passes(name, m.name) && this.#backend.passes(m.name, name))));
    return this.member(name).process.state() === 'running' && peers.length * 2 > this.members.length;
  }

  async leader(): Promise<LeaderView> {
    const now = this.#clock.now();
    if (this.#leader !== null && !this.#quorate(this.#leader)) {
      this.#leader = null;
      this.#lostAt = now;
    }
    if (this.#leader === null && now - (this.#lostAt ?? -Infinity) >= this.#electionMs) {
      const next = this.members.find((m) => this.#quorate(m.name));
      if (next) {
        this.#leader = next.name;
        this.#term++;
        this.#lostAt = null;
      }
    }
    const views = this.members.map((m): MemberView => ({ member: m.name, reachable: m.process.state() === 'running', raftTerm: this.#term, ...(this.#leader && this.#quorate(m.name) ? { leader: this.#leader } : {}) }));
    return { leader: this.#leader, term: this.#term, views, agreed: views.filter((v) => v.reachable).every((v) => v.leader === this.#leader) };
  }

  async healthy(name: string): Promise<boolean> {
    return this.member(name).process.state() === 'running';
  }

  async restartMember(name: string): Promise<void> {
    const member = this.member(name);
    member.process = this.#backend.start(name);
  }

  scrapeTargets(): ScrapeTarget[] {
    return [];
  }

  async stop(): Promise<void> {
    for (const member of this.members) await member.process.stop();
  }
}
