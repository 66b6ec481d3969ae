/**
 * Clustering by configuration: `installClusterkitFromEnv(app)` and the NocoBase plugin
 * `PluginClusterkit`, which an operator adds to the app's plugins once; the environment then says
 * whether and how the app clusters — `CLUSTERKIT_ADAPTER` (memory | redis | rabbitmq), `REDIS_URL`,
 * `AMQP_URL` (and clusterkit's per-primitive variables, see `adaptersFromEnv`). Unset, NocoBase
 * keeps its in-process adapters.
 */
import { Plugin } from '@nocobase/server';
import { adaptersFromEnv, backendsFromEnv } from 'clusterkit/adapter-kit';
import {
  clusterkitInstallation,
  installClusterkit,
  type ClusterkitInstallation,
  type InstallClusterkitOptions,
} from './install.js';
import type { NocoBaseApp } from './nocobase-types.js';

/** {@link installClusterkit} options the environment does not give. */
export type EnvInstallOptions = Omit<InstallClusterkitOptions, 'adapters'>;

/**
 * Installs clusterkit on `app` with adapters chosen by `env`; resolves `undefined` (and changes
 * nothing) when every primitive would be in memory. Installing twice returns the first installation.
 * `CLUSTERKIT_NAME` sets the cluster namespace (default 'nocobase').
 */
export async function installClusterkitFromEnv(
  app: NocoBaseApp,
  env: NodeJS.ProcessEnv = process.env,
  options: EnvInstallOptions = {},
): Promise<ClusterkitInstallation | undefined> {
  const existing = clusterkitInstallation(app);
  if (existing) return existing;
  const backends = backendsFromEnv(env);
  if (Object.values(backends).every((backend) => backend === 'memory')) {
    app.logger.info('[clusterkit] CLUSTERKIT_ADAPTER is not set: NocoBase keeps its in-process adapters', {});
    return undefined;
  }
  const adapters = await adaptersFromEnv(env);
  const installation = installClusterkit(app, {
    ...(env.CLUSTERKIT_NAME ? { name: env.CLUSTERKIT_NAME } : {}),
    ...options,
    adapters,
  });
  app.logger.info(
    `[clusterkit] NocoBase app "${app.name}" clusters on clusterkit: event queue ${backends.eventQueue}, pub/sub ${backends.pubSub}, locks ${backends.lock}`,
    {},
  );
  return installation;
}

/**
 * The NocoBase plugin: `new Application({ plugins: [PluginClusterkit, ...] })` (options, if any,
 * are {@link EnvInstallOptions}). It installs in `afterAdd` — the earliest plugin hook, before
 * NocoBase leases its worker id and before `beforeLoad`, which runs after it — and checks again in
 * `beforeLoad`.
 */
export class PluginClusterkit extends Plugin {
  override async afterAdd(): Promise<void> {
    await installClusterkitFromEnv(this.app as unknown as NocoBaseApp, process.env, envOptions(this.options));
  }

  override async beforeLoad(): Promise<void> {
    await installClusterkitFromEnv(this.app as unknown as NocoBaseApp, process.env, envOptions(this.options));
  }
}

/** The plugin's own options, without the keys NocoBase's plugin manager adds (name, enabled, ...). */
function envOptions(options: unknown): EnvInstallOptions {
  const given = (options ?? {}) as Record<string, unknown>;
  const keys = ['name', 'eventQueue', 'pubSub', 'lock', 'workerId', 'stopGracePeriodMs', 'logger'] as const;
  const out: Record<string, unknown> = {};
  // NocoBase puts the plugin's own `name` in its options: only `clusterName` names the cluster.
  for (const key of keys) if (key !== 'name' && given[key] !== undefined) out[key] = given[key];
  if (typeof given.clusterName === 'string') out.name = given.clusterName;
  return out as EnvInstallOptions;
}
