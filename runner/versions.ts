import { readFileSync } from 'node:fs';
import { programVersion } from '../core/exec.ts';
import type { Scenario } from '../core/scenario.ts';
import { serviceKindOf } from '../twin/index.ts';

export const MOAT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Versions of moat, Node, the kernel, the tools the twin uses and each service's program, for the journal. */
export async function collectVersions(scenario: Scenario): Promise<Record<string, string>> {
  const versions: Record<string, string> = { moat: MOAT_VERSION, node: process.version };
  const tools: [string, Promise<string>][] = [
    ['nftables', programVersion('nft', ['--version'], /nftables v(\S+)/)],
    ['iproute2', programVersion('ip', ['-V'], /iproute2-(\S+)|ip utility, (\S+)/)],
    ['kernel', programVersion('uname', ['-r'], /(\S+)/)],
  ];
  for (const [name, version] of tools) versions[name] = await version;
  const seen = new Set<string>();
  for (const spec of scenario.twin.services) {
    const kind = serviceKindOf(spec);
    // one answer per kind is enough, except for apps: each is its own program
    if (!kind.versions || (seen.has(spec.kind) && spec.kind !== 'app')) continue;
    seen.add(spec.kind);
    Object.assign(versions, await kind.versions(spec).catch(() => ({})));
  }
  return versions;
}
