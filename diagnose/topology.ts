import type { ComponentRef } from '../core/journal.ts';
import { memberNames, type Scenario } from '../core/scenario.ts';

/**
 * The twin as a graph the localizer ranks: every member (one host each), every service, and every
 * link from a service to a dependency it names (`links:` of an app; its traffic goes through
 * Toxiproxy). `moat` is the gateway (the load generators and scrapers), never a candidate.
 */
export interface Topology {
  components: ComponentRef[];
  /** member -> its service */
  serviceOf: Map<string, string>;
  /** service -> its members */
  members: Map<string, string[]>;
  /** `from->to` links, from the service that calls to its dependency */
  links: { id: string; from: string; to: string }[];
  /** load name -> the service it drives */
  loadTarget: Map<string, string>;
}

export function linkId(from: string, to: string): string {
  return `${from}->${to}`;
}

export function topologyOf(scenario: Pick<Scenario, 'twin' | 'load'>): Topology {
  const components: ComponentRef[] = [];
  const serviceOf = new Map<string, string>();
  const members = new Map<string, string[]>();
  const links: Topology['links'] = [];
  for (const service of scenario.twin.services) {
    components.push({ id: service.name, kind: 'service' });
    const names = memberNames(service);
    members.set(service.name, names);
    for (const member of names) {
      serviceOf.set(member, service.name);
      components.push({ id: member, kind: 'member' });
    }
  }
  for (const service of scenario.twin.services) {
    for (const to of (service as { links?: readonly string[] }).links ?? []) {
      if (!members.has(to)) continue;
      const id = linkId(service.name, to);
      links.push({ id, from: service.name, to });
      components.push({ id, kind: 'link' });
    }
  }
  const loadTarget = new Map((scenario.load ?? []).map((l) => [l.name, l.target]));
  return { components, serviceOf, members, links, loadTarget };
}
