import { createHash } from 'node:crypto';
import { cpSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { run } from '../../../core/exec.ts';
import { TwinError, errorMessage } from '../../../core/errors.ts';
import type { ResourceLedger } from '../../../core/resources.ts';
import { engine, IMAGE_LABEL } from './engine.ts';
import type { ImageRecipe } from '../types.ts';

/**
 * moat's images, built here because no registry is reachable: a base image made with debootstrap
 * from the machine's own Debian sources (the packages every service kind needs, imported once),
 * then one thin image per service kind that adds moat's cached programs (Toxiproxy, the ledger,
 * Kafka's jars) at the same absolute paths they have on the machine, so a service starts its
 * program by the same path on both backends. Tags carry a hash of what went in: a cached image is
 * reused, a changed one rebuilt. Builds are recorded in the run's ledger (their folders).
 */

/** Debian packages the base image holds: what the service kinds run, and what moat runs inside hosts. */
export const BASE_PACKAGES = ['iproute2', 'nftables', 'procps', 'etcd-server', 'redis-server', 'openjdk-17-jre-headless'] as const;
const IMAGE_FORMAT = 1;

export type { ImageRecipe } from '../types.ts';

export interface BuiltImage {
  tag: string;
  /** how long finding or building it took */
  ms: number;
}

/** The machine's Debian mirror and release, read from apt's own configuration. */
export function aptSource(root = '/etc'): { mirror: string; suite: string } {
  const release = readFileSync(join(root, 'os-release'), 'utf8').match(/^VERSION_CODENAME=(\S+)/m)?.[1];
  const files = [join(root, 'apt/sources.list'), ...listDir(join(root, 'apt/sources.list.d')).filter((f) => /\.(list|sources)$/.test(f)).map((f) => join(root, 'apt/sources.list.d', f))];
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (name: string) => stanza.match(new RegExp(`^${name}:\\s*(.+)$`, 'mi'))?.[1]?.trim().split(/\s+/) ?? [];
        if (!field('Types').includes('deb') || !field('Components').includes('main')) continue;
        const suite = field('Suites').find((s) => s === release) ?? field('Suites').find((s) => !/-(updates|security|backports)$|\//.test(s));
        const mirror = field('URIs')[0];
        if (suite && mirror && !/security/.test(suite)) return { mirror, suite };
      }
    } else {
      for (const line of text.split('\n')) {
        const m = line.match(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$/);
        if (m && m[3]!.split(/\s+/).includes('main') && !/-(updates|security|backports)$|\//.test(m[2]!)) return { mirror: m[1]!, suite: m[2]! };
      }
    }
  }
  throw new TwinError(`no Debian source with "main" in ${root}/apt: the base image is made from the machine's own apt sources`);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Whether the engine has an image under this tag. */
export async function imageExists(tag: string): Promise<boolean> {
  try {
    await (await engine()).container.dockerode.getImage(tag).inspect();
    return true;
  } catch {
    return false;
  }
}

/** The base image's tag for these packages and this Debian release. */
export function baseTag(suite: string): string {
  const hash = createHash('sha256').update(JSON.stringify({ suite, packages: BASE_PACKAGES, format: IMAGE_FORMAT })).digest('hex').slice(0, 12);
  return `moat-base:${hash}`;
}

/** Builds (once) the base image: debootstrap minbase with BASE_PACKAGES, imported into the engine. */
export async function baseImage(ledger: ResourceLedger, log: (line: string) => void = () => undefined): Promise<BuiltImage> {
  const started = performance.now();
  const { mirror, suite } = aptSource();
  const tag = baseTag(suite);
  if (await imageExists(tag)) return { tag, ms: performance.now() - started };
  const root = join(tmpdir(), `moat-${ledger.runId}-rootfs`);
  const handle = ledger.add({ kind: 'dir', path: root });
  try {
    rmSync(root, { recursive: true, force: true });
    log(`building the base image ${tag}: debootstrap ${suite} from ${mirror} (once; later runs take it from the engine's cache)`);
    const bootstrap = await run('debootstrap', ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, suite, root, mirror], { allowFailure: true, timeoutMs: 900_000 });
    if (bootstrap.code !== 0) throw new TwinError(`debootstrap failed: ${(bootstrap.stderr || bootstrap.stdout).trim().slice(-1500)}`);
    // apt's caches are not needed in the image
    rmSync(join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
    mkdirSync(join(root, 'var/cache/apt/archives/partial'), { recursive: true });
    const imported = await run('sh', ['-c', 'tar -C "$1" -c . | docker import --change "LABEL $2=base" - "$3"', 'sh', root, IMAGE_LABEL, tag], { allowFailure: true, timeoutMs: 600_000 });
    if (imported.code !== 0) throw new TwinError(`docker import of the base image failed: ${imported.stderr.trim().slice(-1500)}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
    handle.remove();
  }
  return { tag, ms: performance.now() - started };
}

/**
 * Builds a Dockerfile folder into `tag` through the engine (testcontainers' dockerode), and says
 * what the build said when it fails. (testcontainers' own builder would start its reaper's lock
 * file in the temp folder, and its client does not report build errors.)
 */
export async function buildImage(context: string, tag: string, what: string): Promise<void> {
  const docker = (await engine()).container.dockerode;
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(context, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk('');
  let output: { error?: string; stream?: string }[];
  try {
    const stream = await docker.buildImage({ context, src: files }, { t: tag, rm: true, forcerm: true });
    output = await new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null, result: { error?: string; stream?: string }[]) => (error ? reject(error) : resolve(result))));
  } catch (error) {
    throw new TwinError(`could not build ${what} (${tag}): ${errorMessage(error)}`, { cause: error });
  }
  const failed = output.find((o) => o.error);
  if (failed || !(await imageExists(tag))) {
    const tail = output.map((o) => o.stream ?? '').join('').trim().split('\n').slice(-8).join('\n');
    throw new TwinError(`could not build ${what} (${tag}): ${failed?.error ?? 'the engine made no image'}${tail ? `\n${tail}` : ''}`);
  }
}

/** What a recipe's files are, for the tag: path, size and modification time of every file. */
function fingerprint(paths: readonly string[]): string {
  const hash = createHash('sha256');
  const walk = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path).sort()) walk(join(path, entry));
    } else {
      hash.update(`${path}\0${stat.size}\0${stat.mtimeMs}\n`);
    }
  };
  for (const path of paths) walk(path);
  return hash.digest('hex');
}

/** Builds (once per content) a service kind's image on the base image. */
export async function kindImage(recipe: ImageRecipe, base: string, ledger: ResourceLedger, log: (line: string) => void = () => undefined): Promise<BuiltImage> {
  const started = performance.now();
  for (const file of recipe.files) {
    if (!file.startsWith('/') || !existsSync(file)) throw new TwinError(`the ${recipe.name} image needs ${file}, which is not there`);
  }
  const hash = createHash('sha256').update(JSON.stringify({ base, name: recipe.name, files: recipe.files, content: fingerprint(recipe.files), format: IMAGE_FORMAT })).digest('hex').slice(0, 12);
  const tag = `moat-${recipe.name}:${hash}`;
  if (await imageExists(tag)) return { tag, ms: performance.now() - started };
  const context = join(tmpdir(), `moat-${ledger.runId}-build-${recipe.name}`);
  const handle = ledger.add({ kind: 'dir', path: context });
  try {
    rmSync(context, { recursive: true, force: true });
    mkdirSync(join(context, 'root'), { recursive: true });
    for (const file of recipe.files) {
      const target = join(context, 'root', file);
      mkdirSync(dirname(target), { recursive: true });
      if (statSync(file).isDirectory()) cpSync(file, target, { recursive: true });
      else {
        try {
          linkSync(file, target);
        } catch {
          cpSync(file, target);
        }
      }
    }
    writeFileSync(join(context, 'Dockerfile'), [`FROM ${base}`, ...(recipe.files.length > 0 ? ['COPY root/ /'] : []), `LABEL ${IMAGE_LABEL}=${recipe.name}`, ''].join('\n'));
    log(`building the ${recipe.name} image ${tag} on ${base}`);
    await buildImage(context, tag, `the ${recipe.name} image`);
  } finally {
    rmSync(context, { recursive: true, force: true });
    handle.remove();
  }
  return { tag, ms: performance.now() - started };
}

/**
 * Every image a twin needs, by the program each runs: the base once, then each recipe's image.
 * A user's own image (`image:` on an app) is not built here; the backend checks that it exists.
 */
export async function twinImages(recipes: readonly ImageRecipe[], ledger: ResourceLedger, log?: (line: string) => void): Promise<{ base: string; programs: Map<string, string> }> {
  const base = await baseImage(ledger, log);
  const programs = new Map<string, string>();
  // one image per recipe name (two apps with links share the toxiproxy image)
  for (const recipe of new Map(recipes.map((r) => [r.name, r])).values()) {
    const image = await kindImage(recipe, base.tag, ledger, log);
    for (const program of recipe.programs) programs.set(program, image.tag);
  }
  return { base: base.tag, programs };
}
