import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { buildTestApp, DEMO } from '../helper.js'

// Rate limits (docs/contract.md), as a client sees them: 429 rate_limited with Retry-After, per client
// IP (X-Forwarded-For only from a trusted proxy), per identifier, on memory or on a shared Redis,
// and what actually reaches Stytch.

const AUTHENTICATE = '/v1/b2b/passwords/authenticate'

interface Attempt { ip?: string; forwardedFor?: string; body?: unknown; url?: string }

function post (app: FastifyInstance, { ip, forwardedFor, body, url = '/auth/b2b/passwords/authenticate' }: Attempt): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    ...(ip ? { remoteAddress: ip } : {}),
    headers: { 'x-csrf': '1', 'content-type': 'application/json', ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
    payload: JSON.stringify(body ?? { organization_id: DEMO.org, email_address: DEMO.email, password: 'wrong-password-1' })
  })
}

function get (app: FastifyInstance, url: string, ip = '127.0.0.1', headers: Record<string, string> = {}) {
  return app.inject({ method: 'GET', url, remoteAddress: ip, headers })
}

function assertRateLimited (t: Test, res: LightMyRequestResponse, msg: string, maxRetryAfter: number, variable?: string): void {
  t.equal(res.statusCode, 429, msg)
  const body = res.json() as Record<string, unknown>
  t.equal(body.error_type, 'rate_limited', `${msg}: rate_limited`)
  if (variable) t.match(body.error_message, `(limit set by ${variable})`, `${msg}: the message names ${variable}`)
  t.equal(body.status_code, 429)
  t.equal(body.request_id, res.headers['x-request-id'], 'the envelope carries the request id')
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxRetryAfter, `Retry-After in seconds (${String(res.headers['retry-after'])})`)
}

async function metric (app: FastifyInstance, line: RegExp): Promise<number> {
  const text = (await get(app, '/metrics')).body
  const found = text.split('\n').find((l) => line.test(l))
  return found === undefined ? 0 : Number(found.split(' ').at(-1))
}

// ---- memory store

t.test('global limit: per client IP on every route, unknown URLs included; health, readiness and metrics exempt', async (t) => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_GLOBAL_PER_MINUTE: '3' })
  for (let i = 0; i < 3; i++) t.equal((await get(app, '/auth/session', '198.51.100.1')).statusCode, 401, `request ${i + 1} is answered`)
  assertRateLimited(t, await get(app, '/auth/session', '198.51.100.1'), 'the 4th request from one IP', 60, 'RATE_LIMIT_GLOBAL_PER_MINUTE')
  assertRateLimited(t, await post(app, { ip: '198.51.100.1' }), 'a POST from the same IP', 60)
  assertRateLimited(t, await get(app, '/no/such/route', '198.51.100.1'), 'an unknown URL from the same IP', 60)
  t.equal((await get(app, '/auth/session', '198.51.100.2')).statusCode, 401, 'another IP has its own budget')

  for (let i = 0; i < 3; i++) await get(app, `/scan-${i}`, '198.51.100.3')
  assertRateLimited(t, await get(app, '/scan-x', '198.51.100.3'), 'scanning unknown URLs is limited too', 60)

  for (const url of ['/healthz', '/readyz', '/metrics']) {
    const statuses = new Set<number>()
    for (let i = 0; i < 10; i++) statuses.add((await get(app, url, '198.51.100.1')).statusCode)
    t.same([...statuses], [200], `${url} is never rate limited`)
  }
  t.equal(await metric(app, /^rate_limited_total\{limit="global"\}/), 4, 'rate_limited_total{limit="global"} counts the 4 refusals')
})

t.test('auth limit: one per-IP bucket shared by every authenticate, sign-up, reset and MFA route; refused requests count', async (t) => {
  const { app, emulator } = await buildTestApp(t, { RATE_LIMIT_AUTH_PER_MINUTE: '4' })
  const ip = '198.51.100.10'
  t.equal((await post(app, { ip })).statusCode, 401, 'a wrong password counts')
  t.equal((await post(app, { ip, body: { organization_id: DEMO.org, email_address: DEMO.email } })).statusCode, 400, 'an invalid body counts')
  t.equal((await post(app, { ip, url: '/auth/b2b/passwords/email/reset/start', body: { organization_id: DEMO.org, email_address: 'nobody@example.com' } })).statusCode, 200, 'a reset start counts')
  t.equal((await post(app, { ip, url: '/auth/b2b/otps/sms/authenticate', body: { organization_id: DEMO.org, member_id: 'member-x', code: '123456' } })).statusCode, 401, 'an MFA call without its cookie counts')
  assertRateLimited(t, await post(app, { ip, body: { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password } }), 'the 5th auth request, even with the right password', 60, 'RATE_LIMIT_AUTH_PER_MINUTE')
  assertRateLimited(t, await post(app, { ip, url: '/auth/b2b/passwords/discovery/authenticate', body: { email_address: DEMO.email, password: DEMO.password } }), 'another auth route shares the bucket', 60)
  assertRateLimited(t, await post(app, { ip, body: { nonsense: true } }), 'a refused request is refused before validation', 60)

  const strength = await post(app, { ip, url: '/auth/b2b/passwords/strength_check', body: { password: 'correct horse battery staple' } })
  t.equal(strength.statusCode, 200, 'routes outside the auth table rows keep working')
  t.equal((await get(app, '/auth/session', ip)).statusCode, 401, 'GET /auth/session is not an auth-limited route')
  t.equal((await post(app, { ip: '198.51.100.11' })).statusCode, 401, 'another IP has its own auth bucket')
  t.equal(emulator.emulator.count(AUTHENTICATE), 2, 'only the allowed logins reached Stytch')
  t.equal(await metric(app, /^rate_limited_total\{limit="auth"\}/), 3, 'rate_limited_total{limit="auth"}')
})

t.test('identifier limit: lower-cased trimmed email + organization, across client IPs', async (t) => {
  const { app, emulator } = await buildTestApp(t, { RATE_LIMIT_IDENTIFIER_PER_HOUR: '2', TRUST_PROXY: '127.0.0.1' })
  const attempt = (n: number, email: string, org = DEMO.org) => post(app, { forwardedFor: `203.0.113.${n}`, body: { organization_id: org, email_address: email, password: 'wrong-password-1' } })
  t.equal((await attempt(1, DEMO.email)).statusCode, 401)
  t.equal((await attempt(2, '  DEMO@Example.com ')).statusCode, 401, 'case and surrounding spaces do not make a new identifier')
  const refused = await attempt(3, 'Demo@EXAMPLE.com')
  assertRateLimited(t, refused, 'the 3rd attempt on one account from a 3rd IP', 3600, 'RATE_LIMIT_IDENTIFIER_PER_HOUR')
  t.ok(Number(refused.headers['retry-after']) > 60, 'Retry-After reflects the hourly window')
  t.equal((await attempt(4, DEMO.email, 'mfa-org')).statusCode, 401, 'the same email in another organization is another identifier')
  t.not((await attempt(5, 'someone-else@example.com')).statusCode, 429, 'another account is not affected')
  const reset = await post(app, { forwardedFor: '203.0.113.6', url: '/auth/b2b/passwords/email/reset/start', body: { organization_id: DEMO.org, email_address: DEMO.email } })
  assertRateLimited(t, reset, 'the identifier bucket is shared by every route whose body carries the email', 3600)
  const noEmail = await post(app, { forwardedFor: '203.0.113.7', url: '/auth/b2b/passwords/email/reset', body: { password_reset_token: 'token-x', password: 'new-password-123!' } })
  t.not(noEmail.statusCode, 429, 'a body without an email is not identifier-limited')
  t.equal(emulator.emulator.count(AUTHENTICATE), 4, 'refused attempts never reached Stytch')
  t.equal(await metric(app, /^rate_limited_total\{limit="identifier"\}/), 2)
})

t.test('consumer: the identifier is the email field', async (t) => {
  const { app } = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer', RATE_LIMIT_IDENTIFIER_PER_HOUR: '1' })
  const login = (email: string, ip: string) => post(app, { ip, url: '/auth/passwords/authenticate', body: { email, password: 'wrong-password-1' } })
  t.not((await login('user@example.com', '198.51.100.20')).statusCode, 429)
  assertRateLimited(t, await login(' USER@example.com', '198.51.100.21'), 'second attempt on the account', 3600)
  assertRateLimited(t, await post(app, { ip: '198.51.100.22', url: '/auth/passwords', body: { email: 'user@example.com', password: 'a-new-password-123!' } }), 'sign-up with the same email', 3600)
})

t.test('TRUST_PROXY: X-Forwarded-For counts only from a trusted peer', async (t) => {
  const spread = async (app: FastifyInstance, peer: string) => {
    const statuses: number[] = []
    for (let i = 1; i <= 3; i++) statuses.push((await get(app, '/auth/session', peer, { 'x-forwarded-for': `192.0.2.${i}` })).statusCode)
    return statuses
  }
  const untrusted = await buildTestApp(t, { RATE_LIMIT_GLOBAL_PER_MINUTE: '2' })
  t.same(await spread(untrusted.app, '127.0.0.1'), [401, 401, 429], 'TRUST_PROXY unset: the header is ignored, the peer is the client')

  const trusted = await buildTestApp(t, { RATE_LIMIT_GLOBAL_PER_MINUTE: '2', TRUST_PROXY: '127.0.0.1' })
  t.same(await spread(trusted.app, '127.0.0.1'), [401, 401, 401], 'from the trusted gateway: each forwarded client has its own budget')
  const longChain = Array.from({ length: 30 }, (_, i) => `203.0.113.${i}`).join(', ')
  const long = []
  for (let i = 1; i <= 3; i++) long.push((await get(trusted.app, '/auth/session', '127.0.0.1', { 'x-forwarded-for': `${longChain}, 192.0.2.${10 + i}` })).statusCode)
  t.same(long, [401, 401, 401], 'a long X-Forwarded-For chain: the address the gateway saw is the client')
  t.same(await spread(trusted.app, '10.9.9.9'), [401, 401, 429], 'from any other peer: the header is ignored')

  const cidr = await buildTestApp(t, { RATE_LIMIT_GLOBAL_PER_MINUTE: '2', TRUST_PROXY: '10.0.0.0/8' })
  t.same(await spread(cidr.app, '10.1.2.3'), [401, 401, 401], 'a CIDR names the gateway')
  t.same(await spread(cidr.app, '127.0.0.1'), [401, 401, 429], 'a peer outside the CIDR is not trusted')

  const hops = await buildTestApp(t, { RATE_LIMIT_GLOBAL_PER_MINUTE: '2', TRUST_PROXY: '1' })
  const chain = []
  for (let i = 1; i <= 3; i++) chain.push((await get(hops.app, '/auth/session', '10.0.0.1', { 'x-forwarded-for': `6.6.6.${i}, 192.0.2.50` })).statusCode)
  t.same(chain, [401, 401, 429], 'a hop count trusts only the last hop: spoofed left-most entries do not make new clients')
})

t.test('1,000 login attempts on one account from 50 client IPs through a trusted proxy reach Stytch at most within the budgets', async (t) => {
  const { app, emulator, config } = await buildTestApp(t, {
    TRUST_PROXY: '127.0.0.1',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '300',
    RATE_LIMIT_AUTH_PER_MINUTE: '10',
    RATE_LIMIT_IDENTIFIER_PER_HOUR: '20'
  })
  const result = await stuffCredentials([app], 1000, 50)
  const upstream = emulator.emulator.count(AUTHENTICATE)
  const limited = { auth: await metric(app, /^rate_limited_total\{limit="auth"\}/), identifier: await metric(app, /^rate_limited_total\{limit="identifier"\}/), global: await metric(app, /^rate_limited_total\{limit="global"\}/) }
  t.comment(`memory store: 1000 attempts, 50 IPs -> statuses ${JSON.stringify(result)}, upstream calls ${upstream}, refused ${JSON.stringify(limited)}`)
  t.equal(upstream, config.rateLimit.identifierPerHour, `exactly RATE_LIMIT_IDENTIFIER_PER_HOUR (${config.rateLimit.identifierPerHour}) attempts reached Stytch`)
  t.equal(result[429], 1000 - upstream, 'every other attempt was refused with 429')
  t.equal(limited.auth, 1000 - 50 * config.rateLimit.authPerMinute, `each IP got RATE_LIMIT_AUTH_PER_MINUTE (${config.rateLimit.authPerMinute}) attempts`)
})

/** 1,000 attempts with wrong passwords on the demo account, spread over `ips` forwarded clients and the replicas. */
async function stuffCredentials (replicas: FastifyInstance[], attempts: number, ips: number): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {}
  const batch = 25
  for (let start = 0; start < attempts; start += batch) {
    const answers = await Promise.all(Array.from({ length: Math.min(batch, attempts - start) }, (_, k) => {
      const i = start + k
      const replica = replicas[i % replicas.length] as FastifyInstance
      return post(replica, { forwardedFor: `203.0.113.${(i % ips) + 1}`, body: { organization_id: DEMO.org, email_address: DEMO.email, password: `guess-${i}-password` } })
    }))
    for (const res of answers) statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1
  }
  return statuses
}

// ---- Redis

const REDIS_URL = process.env.REDIS_URL

async function redisAnswers (url: string): Promise<boolean> {
  const client = new Redis(url, { connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** REDIS_URL with a key prefix unique to this run, so parallel runs never share counters. */
function isolated (url: string): string {
  const u = new URL(url)
  u.searchParams.set('keyPrefix', `stytch-bff-test:${randomUUID()}:`)
  return u.toString()
}

async function untilConnected (app: FastifyInstance): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (await metric(app, /^rate_limit_redis_connected /) === 1) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return false
}

const sharedRedis = REDIS_URL === undefined ? false : await redisAnswers(REDIS_URL)
const skipShared = REDIS_URL === undefined ? 'REDIS_URL not set: skipping Redis tests' : sharedRedis ? false : 'Redis not reachable at REDIS_URL: skipping Redis tests'
if (skipShared) t.comment(skipShared)

t.test('Redis: two replicas sharing one Redis share one budget', { skip: skipShared }, async (t) => {
  const url = isolated(REDIS_URL as string)
  const env = { REDIS_URL: url, RATE_LIMIT_AUTH_PER_MINUTE: '4', TRUST_PROXY: '127.0.0.1' }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, env)
  t.ok(await untilConnected(a.app) && await untilConnected(b.app), 'both replicas connected to Redis')
  const client = '198.51.100.30'
  const statuses = []
  for (const app of [a.app, b.app, a.app, b.app, a.app, b.app]) statuses.push((await post(app, { forwardedFor: client })).statusCode)
  t.same(statuses, [401, 401, 401, 401, 429, 429], 'the 5th attempt is refused whichever replica gets it')
  t.equal(a.emulator.emulator.count(AUTHENTICATE) + b.emulator.emulator.count(AUTHENTICATE), 4, 'four attempts in all reached Stytch')
  t.equal(await metric(a.app, /^rate_limit_redis_failures_total/), 0, 'no decision fell back to memory')
})

t.test('Redis: 1,000 attempts on one account from 50 IPs through two replicas stay within the shared budgets', { skip: skipShared }, async (t) => {
  // 1,000 requests at once in this one process: a Redis answer can wait behind them for longer
  // than the default command timeout on a loaded machine, and the replica would then decide in
  // memory (tested below); this test is about the shared budget, so Redis gets all the time it needs
  const env = { REDIS_URL: isolated(REDIS_URL as string), REDIS_COMMAND_TIMEOUT_MS: '30000', TRUST_PROXY: '127.0.0.1', RATE_LIMIT_GLOBAL_PER_MINUTE: '300', RATE_LIMIT_AUTH_PER_MINUTE: '10', RATE_LIMIT_IDENTIFIER_PER_HOUR: '20' }
  const a = await buildTestApp(t, env)
  const b = await buildTestApp(t, env)
  t.ok(await untilConnected(a.app) && await untilConnected(b.app), 'both replicas connected to Redis')
  const result = await stuffCredentials([a.app, b.app], 1000, 50)
  const upstream = a.emulator.emulator.count(AUTHENTICATE) + b.emulator.emulator.count(AUTHENTICATE)
  t.comment(`Redis store, 2 replicas: 1000 attempts, 50 IPs -> statuses ${JSON.stringify(result)}, upstream calls ${upstream}`)
  t.equal(upstream, 20, 'exactly RATE_LIMIT_IDENTIFIER_PER_HOUR (20) attempts reached Stytch across both replicas')
  t.equal(result[429], 1000 - upstream, 'every other attempt was refused with 429')
  t.equal(await metric(a.app, /^rate_limit_redis_failures_total/) + await metric(b.app, /^rate_limit_redis_failures_total/), 0, 'no decision fell back to memory')
})

t.test('Redis unreachable at start: the service starts, answers and still limits (per replica), logs a warning, counts it', async (t) => {
  const port = await freePort()
  const { app, logs } = await buildTestApp(t, { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_AUTH_PER_MINUTE: '2' })
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await post(app, { ip: '198.51.100.40' })).statusCode)
  t.same(statuses, [401, 401, 429, 429], 'limits hold in memory')
  t.equal((await get(app, '/healthz')).statusCode, 200)
  t.ok(await waitFor(() => logs.some((l) => /"level":40/.test(l) && /Redis unavailable/.test(l))), 'a warning was logged')
  // global + auth + identifier for the two answered requests, global + auth for the two refused
  t.equal(await metric(app, /^rate_limit_redis_failures_total\{reason="unavailable"\}/), 10, 'rate_limit_redis_failures_total counts every fallback decision')
  t.equal(await metric(app, /^rate_limit_redis_connected /), 0, 'rate_limit_redis_connected is 0')
  t.notOk(logs.some((l) => l.includes(`127.0.0.1:${port}`)), 'the Redis URL (which may hold a password) is not logged')
})

const hasRedisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
const skipOwn = hasRedisServer ? false : 'redis-server not installed: skipping the Redis-stopped-mid-test test'
if (skipOwn) t.comment(skipOwn)

t.test('Redis stopped mid-test: requests are still answered and limited in memory; Redis coming back is used again', { skip: skipOwn }, async (t) => {
  const port = await freePort()
  const startRedis = async () => {
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
    t.teardown(() => { server.kill('SIGKILL') })
    t.ok(await waitFor(() => redisAnswers(`redis://127.0.0.1:${port}`)), `own redis-server answers on port ${port}`)
    return server
  }
  let redis = await startRedis()
  const { app, logs } = await buildTestApp(t, { REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_AUTH_PER_MINUTE: '3' })
  t.ok(await untilConnected(app), 'connected')
  t.equal((await post(app, { ip: '198.51.100.50' })).statusCode, 401, 'counted in Redis')

  const stopped = new Promise((resolve) => redis.once('exit', resolve))
  redis.kill('SIGKILL')
  await stopped
  const statuses = []
  for (let i = 0; i < 5; i++) statuses.push((await post(app, { ip: '198.51.100.51' })).statusCode)
  t.same(statuses, [401, 401, 401, 429, 429], 'with Redis gone: still answering, still limited (per replica)')
  t.equal((await get(app, '/auth/session', '198.51.100.51')).statusCode, 401, 'other routes answer too')
  t.ok(await waitFor(() => logs.some((l) => /"level":40/.test(l) && /Redis unavailable/.test(l))), 'a warning was logged')
  // three limits for each of the three answered logins, two for each refused one, the global limit for the session check
  t.equal((await metric(app, /^rate_limit_redis_failures_total\{reason="unavailable"\}/)) + (await metric(app, /^rate_limit_redis_failures_total\{reason="error"\}/)), 14, 'rate_limit_redis_failures_total counts every fallback decision')

  redis = await startRedis()
  t.ok(await untilConnected(app), 'reconnected once Redis is back')
  t.ok(await waitFor(() => logs.some((l) => /Redis reachable again/.test(l))), 'recovery logged')
  const before = await metric(app, /^rate_limit_redis_failures_total\{reason="unavailable"\}/)
  t.equal((await post(app, { ip: '198.51.100.52' })).statusCode, 401)
  t.equal(await metric(app, /^rate_limit_redis_failures_total\{reason="unavailable"\}/), before, 'decisions are taken in Redis again')
})

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function waitFor (check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) return false
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return true
}
