import { existsSync } from 'node:fs';
import { run, type ExecResult } from '../../../core/exec.ts';
import { TwinError } from '../../../core/errors.ts';
import type { ResourceLedger } from '../../../core/resources.ts';
import { droppedPackets, partitionTables } from './partition-rules.ts';
import { killNetnsProcesses } from './resources.ts';
import type { Cut, PartitionPlan, TwinHost } from '../types.ts';

/**
 * What a twin host is to the kernel on both backends: a named network namespace
 * (`/run/netns/moat-<run>-<host>`). The netns backend makes it with `ip netns add`; the containers
 * backend names the namespace of the host's pod container with `ip netns attach`. Commands, probes
 * and partitions then work the same way on both.
 */
export interface NamespacedHost extends TwinHost {
  netns: string;
}

export type ExecOptions = { allowFailure?: boolean; input?: string; timeoutMs?: number };

/** Runs a command inside a named network namespace to completion. */
export function netnsExec(netns: string, command: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return run('ip', ['netns', 'exec', netns, command, ...args], options);
}

/** Whether a TCP connection from inside the namespace to ip:port opens within the timeout. */
export async function netnsCanConnect(netns: string, ip: string, port: number, timeoutMs = 500): Promise<boolean> {
  const seconds = (timeoutMs / 1000).toFixed(3);
  const result = await netnsExec(netns, 'timeout', [seconds, 'bash', '-c', `exec 3<>/dev/tcp/${ip}/${port}`], { allowFailure: true });
  return result.code === 0;
}

/**
 * Conntrack on from the first packet, so that a later one-way cut can tell which side opened
 * each connection (conntrack picking a flow up mid-stream would guess its direction).
 */
export async function trackConnections(runId: string, ledger: ResourceLedger, netns: string): Promise<void> {
  const table = `moat_${runId}_track`;
  ledger.add({ kind: 'nft-table', netns, family: 'inet', name: table });
  await run('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: trackingTable(table) });
}

/**
 * nftables drop rules in the namespaces that must drop traffic, in a table named after the run
 * and `id`, recorded in the ledger before each exists. The gateway (moat's side) is never cut.
 */
export async function cutNamespaces(runId: string, ledger: ResourceLedger, hosts: ReadonlyMap<string, NamespacedHost>, plan: PartitionPlan, id: string): Promise<Cut> {
  const table = `moat_${runId}_${id}`;
  const addresses = [...hosts.values()].map((h) => ({ name: h.name, ip: h.ip }));
  const scripts = partitionTables(plan, addresses, table);
  const netnsOf = (host: string): string => {
    const found = hosts.get(host);
    if (!found) throw new TwinError(`no host ${JSON.stringify(host)} in the twin`);
    return found.netns;
  };
  const applied: string[] = [];
  let healing: Promise<void> | undefined;
  // the counters as they stood when the rules went: a fault shorter than its verification is read after its heal
  const atHeal = new Map<string, number>();
  const count = async (host: string) => droppedPackets((await netnsExec(netnsOf(host), 'nft', ['list', 'table', 'inet', table], { allowFailure: true })).stdout);
  const cut: Cut = {
    hosts: scripts.map((s) => s.host),
    heal() {
      healing ??= (async () => {
        const failures: string[] = [];
        await Promise.all(applied.map(async (host) => {
          atHeal.set(host, await count(host));
          const result = await netnsExec(netnsOf(host), 'nft', ['delete', 'table', 'inet', table], { allowFailure: true });
          if (result.code === 0 || /No such file or directory/.test(result.stderr)) ledger.remove(`nft:${netnsOf(host)}:inet:${table}`);
          else failures.push(`${host}: ${result.stderr.trim()}`);
        }));
        if (failures.length > 0) throw new TwinError(`partition tables could not be removed (${failures.join('; ')})`);
      })();
      return healing;
    },
    async droppedPackets() {
      return Promise.all(scripts.map(async ({ host }) => ({ host, packets: atHeal.get(host) ?? (await count(host)) })));
    },
  };
  try {
    await Promise.all(scripts.map(async ({ host, script }) => {
      ledger.add({ kind: 'nft-table', netns: netnsOf(host), family: 'inet', name: table });
      applied.push(host);
      await netnsExec(netnsOf(host), 'nft', ['-f', '-'], { input: script });
    }));
  } catch (error) {
    await cut.heal().catch(() => undefined);
    throw new TwinError(`the cut could not be put in place: ${(error as Error).message}`, { cause: error });
  }
  return cut;
}

/**
 * Namespaces of the run still in the ledger (hosts that failed half-way, or left by a teardown that
 * did not finish): what runs in them is killed, they are deleted, and tables inside the namespaces
 * that are gone are struck off.
 */
export async function releaseNamespaces(runId: string, ledger: ResourceLedger): Promise<void> {
  for (const resource of ledger.outstanding()) {
    if (resource.kind === 'netns' && resource.name.startsWith(`moat-${runId}-`)) {
      if (existsSync(`/run/netns/${resource.name}`)) {
        await killNetnsProcesses(resource.name);
        await run('ip', ['netns', 'delete', resource.name], { allowFailure: true });
      }
      ledger.remove(`netns:${resource.name}`);
    }
  }
  for (const resource of ledger.outstanding()) {
    if (resource.kind === 'nft-table' && resource.netns.startsWith(`moat-${runId}-`) && !existsSync(`/run/netns/${resource.netns}`)) {
      ledger.remove(`nft:${resource.netns}:inet:${resource.name}`);
    }
  }
}

/** Removes the run's guard table from the host's namespace (struck off once it is gone). */
export async function removeGuard(runId: string, ledger: ResourceLedger): Promise<void> {
  const guard = await run('nft', ['delete', 'table', 'inet', `moat_${runId}_guard`], { allowFailure: true });
  if (guard.code === 0 || /No such file|does not exist/i.test(guard.stderr)) ledger.remove(`nft::inet:moat_${runId}_guard`);
}

function trackingTable(table: string): string {
  return [
    `table inet ${table} {`,
    `  chain prerouting { type filter hook prerouting priority -300; policy accept; ct state new counter; }`,
    `  chain output { type filter hook output priority -300; policy accept; ct state new counter; }`,
    `}`,
  ].join('\n');
}
