import { TwinError } from '../../../core/errors.ts';
import type { PartitionPlan } from '../types.ts';

/**
 * nftables rule sets for partitions, one table per namespace that must drop traffic.
 * Pure functions: they map a partition to `{ host → nft script }`.
 */
export interface HostAddress {
  name: string;
  ip: string;
}

export interface TableScript {
  host: string;
  script: string;
}


export function partitionTables(plan: PartitionPlan, hosts: readonly HostAddress[], table: string): TableScript[] {
  const ipOf = (name: string) => {
    const host = hosts.find((h) => h.name === name);
    if (!host) throw new TwinError(`unknown host ${name}`);
    return host.ip;
  };
  switch (plan.mode) {
    case 'isolate': {
      const peers = hosts.filter((h) => h.name !== plan.target).map((h) => h.ip);
      return peers.length === 0 ? [] : [{ host: plan.target, script: dropBoth(table, peers) }];
    }
    case 'one-way':
      // Drop, at each receiver, packets from `from` that travel in the direction of a connection
      // `from` opened: `from` cannot reach the receiver, while connections the receiver opens to
      // `from` still get their replies. Conntrack is on in every twin namespace from its creation,
      // so the direction of a connection that predates the fault is known.
      return plan.to.map((receiver) => ({
        host: receiver,
        script: [
          `table inet ${table} {`,
          `  chain input { type filter hook input priority -10; policy accept;`,
          `    ip saddr ${ipOf(plan.from)} ct direction original counter drop`,
          `  }`,
          `}`,
        ].join('\n'),
      }));
    case 'split': {
      const scripts: TableScript[] = [];
      plan.groups.forEach((group, g) => {
        const others = plan.groups.filter((_, o) => o !== g).flat().map(ipOf);
        for (const host of group) if (others.length > 0) scripts.push({ host, script: dropBoth(table, others) });
      });
      return scripts;
    }
  }
}

function dropBoth(table: string, peers: readonly string[]): string {
  const set = `{ ${peers.join(', ')} }`;
  return [
    `table inet ${table} {`,
    `  chain input { type filter hook input priority -10; policy accept;`,
    `    ip saddr ${set} counter drop`,
    `  }`,
    `  chain output { type filter hook output priority -10; policy accept;`,
    `    ip daddr ${set} counter drop`,
    `  }`,
    `}`,
  ].join('\n');
}

/** Sums the packet counters in `nft list table` output. */
export function droppedPackets(listing: string): number {
  let total = 0;
  for (const match of listing.matchAll(/counter packets (\d+) bytes \d+ drop/g)) total += Number(match[1]);
  return total;
}
