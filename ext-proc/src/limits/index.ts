export { LimiterUnavailable } from './types.js';
export type { Admission, Estimate, Limiter, LimitName, LimitPolicy, LimitScope, LimitSubject, Reservation, SubjectStanding } from './types.js';
export { createMemoryLimiter, type MemoryLimiter } from './memory.js';
export { createRedisLimiter, type RedisLimiter, type RedisLimiterOptions } from './redis.js';
