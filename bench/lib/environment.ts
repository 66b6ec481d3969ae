/**
 * What a result was measured on: the machine, the versions of every library involved (read from
 * `node_modules/<pkg>/package.json`, the ground truth) and the services' versions and settings.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import amqp from 'amqplib';
import { AMQP_URL, redisClient } from './services.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** The machine and runtime. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly totalMemoryMiB: number;
  readonly os: string;
  readonly node: string;
  /** 1/5/15-minute load averages when the case started. */
  readonly loadAverage: readonly number[];
}

/** Describes the machine now. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpus: cpus.length,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function packageVersion(name: string): string {
  try {
    const file = name === '.' ? 'package.json' : path.join('node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

/** HEAD's short hash, `+dirty` when the library's files differ from it (others may be mid-edit). */
function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'adapters'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return dirty.trim() ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** Versions of clusterkit (package version + commit) and of the raw libraries compared with. */
export function libraryVersions(): { clusterkit: string } & Record<string, string> {
  return {
    clusterkit: `${packageVersion('.')} (${gitCommit()})`,
    bullmq: packageVersion('bullmq'),
    ioredis: packageVersion('ioredis'),
    amqplib: packageVersion('amqplib'),
    pg: packageVersion('pg'),
    'pg-boss': packageVersion('pg-boss'),
    'graphile-worker': packageVersion('graphile-worker'),
    '@sesamecare-oss/redlock': packageVersion('@sesamecare-oss/redlock'),
    tsx: packageVersion('tsx'),
  };
}

/** The services' versions and the settings that change results (Redis `hz`, persistence). */
export interface ServiceInfo {
  redis?: { version: string; hz: string; appendonly: string; save: string };
  rabbitmq?: { version: string; product: string };
  errors: string[];
}

/** Asks both services about themselves; a service that does not answer is noted, not fatal. */
export async function serviceInfo(): Promise<ServiceInfo> {
  const info: ServiceInfo = { errors: [] };
  const redis = redisClient({ lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    const server = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown';
    const config = async (key: string) => ((await redis.config('GET', key)) as string[])[1] ?? '';
    info.redis = {
      version,
      hz: await config('hz'),
      appendonly: await config('appendonly'),
      save: await config('save'),
    };
  } catch (error) {
    info.errors.push(`redis: ${(error as Error).message}`);
  } finally {
    redis.disconnect();
  }
  try {
    const connection = await amqp.connect(AMQP_URL);
    const props = connection.connection.serverProperties;
    info.rabbitmq = { version: String(props.version ?? 'unknown'), product: String(props.product ?? 'unknown') };
    await connection.close();
  } catch (error) {
    info.errors.push(`rabbitmq: ${(error as Error).message}`);
  }
  return info;
}
