// The harness lives with the build (the benchmark uses it too); tests keep importing it from here.
export { REDIS_BIN, startRedis, type RedisServerHandle, type StartRedisOptions } from '../../scripts/lib/redis-server.js';
