import { connect } from 'node:net';
import { TwinError, errorMessage } from '../../../core/errors.ts';

// testcontainers would start its reaper (Ryuk) from a registry image no machine here can pull;
// moat's resource ledger and `moat cleanup` do that job, so the reaper stays off.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
// the host for mapped ports (moat maps none: the twin is reached on its internal network); without
// it testcontainers looks for the engine's default bridge, which a daemon started for moat has not
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';

type Testcontainers = typeof import('testcontainers');
export type EngineClient = Awaited<ReturnType<Testcontainers['getContainerRuntimeClient']>>;
export type Dockerode = EngineClient['container']['dockerode'];

/** The label every container, network and image moat makes carries: the run id (or `image` for cached images). */
export const RUN_LABEL = 'moat.run';
export const IMAGE_LABEL = 'moat.image';

let client: Promise<EngineClient> | undefined;

/**
 * The Docker engine, through testcontainers' client. A clear error when there is none:
 * scripts/setup.sh installs Debian's docker.io and starts the daemon.
 */
export function engine(): Promise<EngineClient> {
  client ??= (async () => {
    if (!process.env.DOCKER_HOST && !(await socketAnswers('/var/run/docker.sock'))) {
      throw new TwinError('no Docker engine answers at /var/run/docker.sock: run scripts/setup.sh (it installs docker.io and starts the daemon), or set DOCKER_HOST');
    }
    // loaded only by runs that use containers: it is large, and netns runs never need it
    const { getContainerRuntimeClient } = await import('testcontainers');
    try {
      return await getContainerRuntimeClient();
    } catch (error) {
      throw new TwinError(`the Docker engine did not answer: ${errorMessage(error)}`, { cause: error });
    }
  })();
  client.catch(() => { client = undefined; });
  return client;
}

/** What `moat doctor` says about the engine: version, storage and cgroup drivers. Undefined: no engine. */
export async function engineReport(): Promise<{ version: string; storageDriver: string; cgroup: string; images: number } | { error: string }> {
  try {
    const docker = (await engine()).container.dockerode;
    const info = await docker.info() as { ServerVersion: string; Driver: string; CgroupDriver: string; CgroupVersion?: string };
    const images = await docker.listImages({ filters: JSON.stringify({ label: [IMAGE_LABEL] }) });
    return { version: info.ServerVersion, storageDriver: info.Driver, cgroup: `${info.CgroupDriver}, v${info.CgroupVersion ?? '1'}`, images: images.length };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(2000, () => done(false));
  });
}
