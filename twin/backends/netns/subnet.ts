import { TwinError } from '../../../core/errors.ts';
import { run } from '../../../core/exec.ts';

/**
 * Chooses a /24 for the run's bridge inside 10.77.0.0/16 that overlaps none of the host's
 * routes or addresses, so the twin never shadows a real network. The namespaces get no default
 * route: nothing inside the twin can reach beyond the bridge.
 */
export async function chooseSubnet(preferred: number): Promise<{ prefix: string; gateway: string }> {
  const routes = await run('ip', ['-o', '-4', 'route', 'show', 'table', 'all'], { allowFailure: true });
  const addresses = await run('ip', ['-o', '-4', 'addr', 'show'], { allowFailure: true });
  const taken = [...(routes.stdout + '\n' + addresses.stdout).matchAll(/(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)].map((m) => ({
    address: toNumber(m[1]!),
    bits: m[2] === undefined ? 32 : Number(m[2]),
  }));
  for (let i = 0; i < 256; i++) {
    const third = (preferred + i) % 256;
    const base = toNumber(`10.77.${third}.0`);
    const collides = taken.some(({ address, bits }) => {
      if (bits === 0) return false; // the default route covers everything and says nothing about use
      const mask = bits >= 24 ? 0xffffff00 : (0xffffffff << (32 - bits)) >>> 0;
      return ((address & mask) >>> 0) === ((base & mask) >>> 0);
    });
    if (!collides) return { prefix: `10.77.${third}`, gateway: `10.77.${third}.1` };
  }
  throw new TwinError('no free /24 left in 10.77.0.0/16');
}

function toNumber(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}
