import { createHash } from 'node:crypto'
import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { errors } from '../src/errors.js'
import type { Metrics } from './observability.js'

// Abuse protection (docs/contract.md, Security behaviour), three fixed-window limits on top of @fastify/rate-limit:
//   global      RATE_LIMIT_GLOBAL_PER_MINUTE per client IP, every route (health, metrics exempt)
//   auth        RATE_LIMIT_AUTH_PER_MINUTE per client IP, one bucket shared by every route whose
//               config says `authLimited` (the proxy routes copy it from their endpoint-table row);
//               counted in onRequest, so every request counts, refused ones (400, 401, 429) included
//   identifier  RATE_LIMIT_IDENTIFIER_PER_HOUR per lower-cased trimmed email + organization, on the
//               same rows when the body carries an email; counted on the parsed body, before
//               validation and before the upstream call
// Client IP is request.clientIp (plugins/security.ts): X-Forwarded-For only counts when TRUST_PROXY names the peer.
// Counters live in Redis when REDIS_URL is set (replicas share one budget), else in memory. When
// Redis fails the decision is taken in memory (per-replica limits, never no limits), with a
// warning in the logs and rate_limit_redis_failures_total counted.

export type LimitName = 'global' | 'auth' | 'identifier'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route counts against the auth limit (true: in onRequest, every request, plus the
     * identifier limit). A function decides from the parsed body, counted in preValidation
     * (before the schema, so refused bodies count too): logout counts only when it ends every session.
     */
    authLimited?: boolean | ((body: unknown) => boolean)
  }
}

/** The variable that sets each limit: a 429 names it. */
export const LIMIT_VARIABLES: Record<LimitName, string> = {
  global: 'RATE_LIMIT_GLOBAL_PER_MINUTE',
  auth: 'RATE_LIMIT_AUTH_PER_MINUTE',
  identifier: 'RATE_LIMIT_IDENTIFIER_PER_HOUR'
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** after a Redis error, decide in memory for this long before trying Redis again */
const REDIS_COOLDOWN_MS = 5_000
const MEMORY_MAX_KEYS = 50_000
const REDIS_KEY_PREFIX = 'stytch-bff:rate-limit:'

export default fp(async function rateLimits (app: FastifyInstance) {
  const { config, metrics } = app
  const redis = config.rateLimit.redisUrl ? connectRedis(config.rateLimit.redisUrl, config.rateLimit.redisCommandTimeoutMs, app.log, metrics) : undefined
  if (redis) app.addHook('onClose', async () => { redis.closing = true; redis.client.disconnect() })
  const counters = new FallbackCounters(redis)

  const refuse = (limit: LimitName, ttlMs: number) => {
    metrics.rateLimited.inc({ limit })
    return errors.rateLimited(Math.max(1, Math.ceil(ttlMs / 1000)), LIMIT_VARIABLES[limit])
  }

  // The global limit: @fastify/rate-limit's own route hook, on every route registered from here on
  // (routes opt out with `config: { rateLimit: false }`).
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: config.rateLimit.globalPerMinute,
    timeWindow: MINUTE,
    keyGenerator: (request) => `global:${clientKey(request)}`,
    store: counters.storeClass(),
    skipOnError: true,
    // Retry-After comes from the BffError, like the other limits; no X-RateLimit-* headers.
    addHeaders: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false, 'retry-after': false },
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => refuse('global', context.ttl)
  })

  const globalLimit = app.createRateLimit()
  const authLimit = app.createRateLimit({
    max: config.rateLimit.authPerMinute,
    timeWindow: MINUTE,
    keyGenerator: (request) => `auth:${clientKey(request)}`
  })
  // the identifier is hashed once per request, in preValidation, and read back by the key generator
  const identifiers = new WeakMap<FastifyRequest, string>()
  const identifierLimit = app.createRateLimit({
    max: config.rateLimit.identifierPerHour,
    timeWindow: HOUR,
    keyGenerator: (request) => `identifier:${identifiers.get(request) ?? ''}`
  })

  const enforce = async (limit: LimitName, check: ReturnType<FastifyInstance['createRateLimit']>, request: FastifyRequest) => {
    const result = await check(request)
    if (!result.isAllowed && result.isExceeded) throw refuse(limit, result.ttl)
  }

  // Unknown URLs are no route, so the plugin's route hook never sees them: scanning still pays.
  // A plain callback: on every other request it does nothing, without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    if (!request.is404) return done()
    enforce('global', globalLimit, request).then(() => done(), done)
  })

  // Registered after the plugin's own onRoute hook, so the global limit runs first.
  app.addHook('onRoute', (route) => {
    const native = route.config?.authLimited
    if (typeof native === 'function') {
      route.preValidation = [...toArray(route.preValidation), async (request: FastifyRequest) => {
        if (native(request.body)) await enforce('auth', authLimit, request)
      }]
      return
    }
    if (native !== true) return
    route.onRequest = [...toArray(route.onRequest), async (request: FastifyRequest) => enforce('auth', authLimit, request)]
    route.preValidation = [...toArray(route.preValidation), async (request: FastifyRequest) => {
      const identifier = identifierOf(request.body)
      if (identifier === undefined) return
      identifiers.set(request, identifier)
      await enforce('identifier', identifierLimit, request)
    }]
  })
}, { name: 'rate-limit', fastify: '5.x', dependencies: ['config', 'observability', 'security'] })

function toArray<T> (value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

/** request.clientIp (X-Forwarded-For only from trusted proxies); IPv6 clients grouped by /64. */
function clientKey (request: FastifyRequest): string {
  const ip = request.clientIp
  // an IPv4 address is its own key; normalizeIP would test it against the IPv6 grammar first
  return IPV4.test(ip) ? ip : normalizeIP(ip)
}
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/**
 * The account a body is about: lower-cased trimmed email (+ organization for B2B), hashed so
 * that no address is ever written to Redis. undefined when the body carries no email.
 */
export function identifierOf (body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined
  const { email, email_address: emailAddress, organization_id: organizationId } = body as Record<string, unknown>
  const address = typeof email === 'string' ? email : typeof emailAddress === 'string' ? emailAddress : undefined
  if (address === undefined || address.trim() === '') return undefined
  const organization = typeof organizationId === 'string' ? organizationId.trim() : ''
  return createHash('sha256').update(`${address.trim().toLowerCase()}\n${organization}`).digest('base64url').slice(0, 32)
}

// ---- counters: Redis when it answers, memory otherwise

type Result = { current: number; ttl: number }
type Callback = (err: Error | null, result?: Result) => void

interface SharedRedis {
  client: Redis & { bffRateLimit: (key: string, windowMs: number, cb: (err: Error | null, res: [number, number]) => void) => void }
  /** record a failed Redis operation; returns nothing, the caller falls back to memory */
  failed: (err: Error) => void
  /** Date.now() before which Redis is not tried again */
  coolingUntil: number
  /** set on app close: the disconnect that follows is not an outage */
  closing: boolean
  metrics: Metrics
}

// INCR + PEXPIRE on the first hit: a fixed window per key. Returns the count and the window's rest.
const INCR_LUA = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}
`

function connectRedis (url: string, commandTimeoutMs: number, log: FastifyBaseLogger, metrics: Metrics): SharedRedis {
  const client = new Redis(url, {
    connectTimeout: 1_000,
    // a decision Redis has not answered by then is taken in memory (REDIS_COMMAND_TIMEOUT_MS)
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 1,
    // fail fast instead of queueing while disconnected: the request is decided in memory
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 250, 5_000)
  }) as SharedRedis['client']
  client.defineCommand('bffRateLimit', { numberOfKeys: 1, lua: INCR_LUA })
  metrics.registry.registerMetric(metrics.rateLimitRedisConnected)
  metrics.rateLimitRedisConnected.set(0)

  let down = false
  const wentDown = (reason: string) => {
    metrics.rateLimitRedisConnected.set(0)
    if (down || shared.closing) return
    down = true
    log.warn({ rateLimitStore: 'memory', reason }, 'Redis unavailable: rate limits fall back to per-replica memory')
  }
  // ioredis emits 'error' on every failed (re)connection: without a listener they would crash us.
  client.on('error', (err: Error) => wentDown(describe(err)))
  client.on('close', () => wentDown('connection closed'))
  client.on('ready', () => {
    shared.coolingUntil = 0
    metrics.rateLimitRedisConnected.set(1)
    if (down) log.info('Redis reachable again: rate limits shared across replicas')
    down = false
  })

  const shared: SharedRedis = {
    client,
    metrics,
    coolingUntil: 0,
    closing: false,
    failed: (err) => {
      shared.coolingUntil = Date.now() + REDIS_COOLDOWN_MS
      metrics.rateLimitRedisFailures.inc({ reason: 'error' })
      wentDown(describe(err))
    }
  }
  return shared
}

// Only the class and message of a Redis error (never a URL, which may carry a password).
function describe (err: Error): string {
  const code = (err as { code?: unknown }).code
  return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}`
}

/** A fixed-window counter per key, bounded in size (oldest windows evicted first). */
class MemoryCounters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>()

  incr (key: string, windowMs: number): Result {
    const now = Date.now()
    let entry = this.windows.get(key)
    if (!entry || entry.resetAt <= now) {
      this.windows.delete(key)
      entry = { count: 0, resetAt: now + windowMs }
      if (this.windows.size >= MEMORY_MAX_KEYS) this.evict(now)
      this.windows.set(key, entry)
    }
    entry.count++
    return { current: entry.count, ttl: entry.resetAt - now }
  }

  private evict (now: number): void {
    for (const [key, entry] of this.windows) {
      if (entry.resetAt <= now || this.windows.size >= MEMORY_MAX_KEYS) this.windows.delete(key)
      else break
    }
  }
}

/** Counts in Redis when connected and healthy, else in memory. Never fails. */
class FallbackCounters {
  private readonly memory = new MemoryCounters()
  constructor (private readonly redis: SharedRedis | undefined) {}

  incr (key: string, windowMs: number, cb: Callback): void {
    const redis = this.redis
    if (redis === undefined) return cb(null, this.memory.incr(key, windowMs))
    if (redis.client.status !== 'ready' || Date.now() < redis.coolingUntil) {
      redis.metrics.rateLimitRedisFailures.inc({ reason: 'unavailable' })
      return cb(null, this.memory.incr(key, windowMs))
    }
    redis.client.bffRateLimit(REDIS_KEY_PREFIX + key, windowMs, (err, res) => {
      if (err || !Array.isArray(res)) {
        redis.failed(err ?? new Error('unexpected Redis answer'))
        return cb(null, this.memory.incr(key, windowMs))
      }
      cb(null, { current: Number(res[0]), ttl: Number(res[1]) })
    })
  }

  /** The store class @fastify/rate-limit instantiates; every limit shares these counters (keys carry the limit name). */
  storeClass () {
    const counters = this
    return class Store {
      incr (key: string, cb: Callback, timeWindow: number): void { counters.incr(key, timeWindow, cb) }
      child (): Store { return new Store() }
    }
  }
}
