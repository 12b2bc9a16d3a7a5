import { readFileSync } from 'node:fs';
import { run } from '../core/exec.ts';

export const MOAT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Versions of moat, Node, the kernel and the twin's programs, for the journal. */
export async function collectVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = { moat: MOAT_VERSION, node: process.version };
  const probes: [string, string, string[], RegExp][] = [
    ['etcd', 'etcd', ['--version'], /etcd Version: (\S+)/],
    ['nftables', 'nft', ['--version'], /nftables v(\S+)/],
    ['iproute2', 'ip', ['-V'], /iproute2-(\S+)|ip utility, (\S+)/],
    ['kernel', 'uname', ['-r'], /(\S+)/],
  ];
  await Promise.all(probes.map(async ([name, command, args, pattern]) => {
    const result = await run(command, args, { allowFailure: true }).catch(() => undefined);
    const match = result && pattern.exec(result.stdout + result.stderr);
    versions[name] = match ? (match[1] ?? match[2] ?? 'unknown') : 'not installed';
  }));
  return versions;
}
