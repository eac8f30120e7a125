/**
 * A throwaway Redis for the cache-hit scenarios (`--redis`): scripts/lib/redis-server.ts (the
 * tests' harness), with each redis-server registered with procs.ts so every way out of the
 * benchmark stops it.
 */
import { startRedis as startRedisServer, type RedisServerHandle } from '../../scripts/lib/redis-server.js';
import { track } from './procs.js';

export { REDIS_BIN } from '../../scripts/lib/redis-server.js';

export type RedisServer = RedisServerHandle;

export function startRedis(): Promise<RedisServer> {
  return startRedisServer({ onSpawn: (child) => track('redis-server', child) });
}
