import { basename, dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { which } from '../../../core/exec.ts';
import type { ServiceKind } from '../types.ts';
import { AppService, ledgerBinary, toxiproxyServer, TOXIPROXY_VERSION } from './service.ts';
import { TwinError } from '../../../core/errors.ts';
import { appSchema, buildApp, validateApp, type AppServiceSpec } from './spec.ts';

export { AppService, APP_METRICS, TOXIPROXY_VERSION, envReferences, resolveEnv, ledgerBinary, toxiproxyServer, type Link } from './service.ts';
export { ledgerConfigPatchSchema, type AppServiceSpec } from './spec.ts';
export { EtcdConfigKey, configChanges, mergeConfig, type ConfigValue } from './config-key.ts';

/** The service under test: moat's Go ledger or the user's own binary, behind Toxiproxy links. */
export const appService: ServiceKind<AppServiceSpec, import('zod').output<typeof appSchema>> = {
  kind: 'app',
  schema: appSchema,
  build: buildApp,
  validate: validateApp,
  describe: (spec) => `${spec.app ? `moat's ${spec.app} service` : spec.image ? `image ${spec.image}${spec.build ? ` (built from ${spec.build})` : ''}${spec.command ? ` ${spec.command.join(' ')}` : ''}` : spec.command!.join(' ')} on :${spec.port}${spec.links.length ? `, links through Toxiproxy to ${spec.links.join(', ')}` : ''}`,
  startsLast: true,
  start: (spec, context) => AppService.start({ spec, backend: context.backend, upstreams: context.started, ...(context.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: context.readyTimeoutMs }) }),
  processName: (spec) => spec.app ?? basename(spec.image ? (spec.command?.[0] ?? spec.image.replace(/:[^/:]*$/, '')) : spec.command![0]!),
  async images(spec) {
    const recipes = spec.links.length > 0 ? [{ name: 'toxiproxy', programs: [toxiproxyServer()], files: [toxiproxyServer()] }] : [];
    if (spec.app === 'ledger') {
      const binary = await ledgerBinary();
      return [...recipes, { name: 'ledger', programs: [binary], files: [binary] }];
    }
    if (spec.image) return recipes;
    const program = spec.command![0]!;
    const path = program.includes('/') ? program : await which(program);
    if (!path) throw new TwinError(`${spec.name}: ${program} is not on PATH, so no image can hold it`);
    return [...recipes, { name: `app-${spec.name}`, programs: [program], files: [path] }];
  },
  // the ledger is a Go program built here; a user's binary may be one too (the probes check)
  async goBinaries(spec) {
    if (spec.app === 'ledger') return [await ledgerBinary()];
    if (spec.image) return [];
    const program = spec.command![0]!;
    const path = program.includes('/') ? program : await which(program);
    return path ? [path] : [];
  },
  async versions(spec) {
    // the ledger is built per source version: its folder in the cache is named after the source's hash
    if (spec.app === 'ledger') return { [spec.name]: basename(dirname(await ledgerBinary())), toxiproxy: TOXIPROXY_VERSION };
    if (spec.image) return { [spec.name]: `image ${spec.image}`, ...(spec.links.length ? { toxiproxy: TOXIPROXY_VERSION } : {}) };
    const program = spec.command![0]!;
    const path = program.includes('/') ? program : await which(program);
    let digest = 'not found';
    try {
      digest = `sha256:${createHash('sha256').update(readFileSync(path ?? program)).digest('hex').slice(0, 12)}`;
    } catch { /* reported as not found */ }
    return { [spec.name]: `${basename(program)} ${digest}`, ...(spec.links.length ? { toxiproxy: TOXIPROXY_VERSION } : {}) };
  },
  keySeries: ['ledger_breaker_state', 'ledger_shed_total:rate'],
  scrapedByDefault: true,
};
