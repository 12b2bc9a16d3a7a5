import { TwinError } from '../../../core/errors.ts';
import { existsSync } from 'node:fs';
import { run } from '../../../core/exec.ts';
import { procStat } from '../../../core/proc.ts';
import type { Resource, ResourceHandler } from '../../../core/resources.ts';

/**
 * The netns backend's resources, for `moat cleanup`: namespaces `moat-<id>-<host>`, links
 * `mb-<id>` (the bridge) and `mv-<id>-<n>` (veths), and nftables tables `moat_<id>_*` inside the
 * run's namespaces. An entry whose name does not carry the run id is refused, never acted on.
 */
export async function netnsExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`);
}

/** Kills every process inside a namespace and waits until they are gone (up to 2 s). */
export async function killNetnsProcesses(netns: string): Promise<number[]> {
  const result = await run('ip', ['netns', 'pids', netns], { allowFailure: true });
  const pids = result.stdout.split(/\s+/).filter(Boolean).map(Number).filter((pid) => Number.isInteger(pid) && pid > 1);
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already exited */ }
  }
  const deadline = Date.now() + 2000;
  while (pids.some((pid) => (procStat(pid)?.state ?? 'Z') !== 'Z') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return pids;
}

const runNetns = (runId: string) => new RegExp(`^moat-${runId}-[a-z0-9][a-z0-9-]*$`);

export const netnsHandler: ResourceHandler<Extract<Resource, { kind: 'netns' }>> = {
  kind: 'netns',
  check: (resource, runId) => (typeof resource.name === 'string' && runNetns(runId).test(resource.name) ? undefined : `namespace ${JSON.stringify(resource.name)} is not one of run ${runId}`),
  describe: (resource) => `kill the processes in namespace ${resource.name} and delete it`,
  async undo(resource) {
    if (!(await netnsExists(resource.name))) return 'already gone';
    await killNetnsProcesses(resource.name);
    await run('ip', ['netns', 'delete', resource.name]);
    return 'deleted';
  },
};

export const linkHandler: ResourceHandler<Extract<Resource, { kind: 'link' }>> = {
  kind: 'link',
  check: (resource, runId) => (typeof resource.name === 'string' && (resource.name === `mb-${runId}` || new RegExp(`^mv-${runId}-\\d{1,3}$`).test(resource.name)) ? undefined : `link ${JSON.stringify(resource.name)} is not one of run ${runId}`),
  describe: (resource) => `delete the link ${resource.name}`,
  async undo(resource) {
    const result = await run('ip', ['link', 'delete', resource.name], { allowFailure: true });
    if (result.code !== 0 && !/Cannot find device|does not exist/i.test(result.stderr)) throw new TwinError(result.stderr.trim());
    return result.code === 0 ? 'deleted' : 'already gone';
  },
};

/** Tables inside the run's namespaces, and the one guard table in the host's (netns ''). */
export const nftTableHandler: ResourceHandler<Extract<Resource, { kind: 'nft-table' }>> = {
  kind: 'nft-table',
  check(resource, runId) {
    if (resource.family !== 'inet') return `family ${JSON.stringify(resource.family)} is not one moat uses`;
    if (typeof resource.name !== 'string' || !new RegExp(`^moat_${runId}_[a-z0-9_]+$`).test(resource.name)) return `table ${JSON.stringify(resource.name)} is not one of run ${runId}`;
    if (resource.netns === '') return resource.name === `moat_${runId}_guard` ? undefined : `only the run's guard table lives in the host's namespace, not ${JSON.stringify(resource.name)}`;
    if (typeof resource.netns !== 'string' || !runNetns(runId).test(resource.netns)) return `namespace ${JSON.stringify(resource.netns)} is not one of run ${runId}`;
    return undefined;
  },
  describe: (resource) => `delete the nftables table inet ${resource.name} in ${resource.netns === '' ? "the host's namespace" : resource.netns}`,
  async undo(resource) {
    if (resource.netns !== '' && !(await netnsExists(resource.netns))) return 'namespace already gone';
    const nft = ['nft', 'delete', 'table', resource.family, resource.name];
    const result = resource.netns === '' ? await run('nft', nft.slice(1), { allowFailure: true }) : await run('ip', ['netns', 'exec', resource.netns, ...nft], { allowFailure: true });
    if (result.code !== 0 && !/No such file|does not exist/i.test(result.stderr)) throw new TwinError(result.stderr.trim());
    return result.code === 0 ? 'deleted' : 'already gone';
  },
};
