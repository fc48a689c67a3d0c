import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pino from 'pino'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Vertical } from '../../src/config.js'
import { buildEmulator } from '../../src/emulator/app.js'
import { CENSOR, loggerOptions } from '../../src/logger.js'
import { ENDPOINTS } from '../../src/stytch/endpoints.js'
import { startFakeUpstream } from '../fake-upstream.js'
import { Browser, buildTestApp, DEMO, setCookies } from '../helper.js'

// No password, token, cookie or secret ever reaches a log line (docs/contract.md), checked
// with canaries: every route of the endpoint table for both verticals plus session, verify and
// logout is driven with canary passwords, tokens and a canary Stytch secret, at the most verbose
// log level, against the emulator (real tokens flowing) and against a hostile fake Stytch that
// echoes what it receives into its errors. Every sensitive value seen on the wire is then looked
// for in the captured logs.

const RUN = randomUUID().slice(0, 8)
const CANARY = {
  secret: `secret-test-CANARY-SECRET-${RUN}-aaaaaaaaaaaaaaaa`,
  password: `Canary-Password-${RUN}-ü-🙂`,
  wrongPassword: `Canary-Wrong-Password-${RUN}`,
  newPassword: `Canary-New-Password-${RUN}`,
  token: `canary-token-${RUN}-bbbbbbbbbbbbbbbb`,
  cookieToken: `canary-cookie-token-${RUN}-cccc`,
  cookieJwt: `eyJhbGciOiJSUzI1NiJ9.eyJjYW5hcnkiOiIke1JVTn0ifQ.canary-signature-${RUN}`,
  bearer: `canary-bearer-${RUN}-dddddddddddd`,
  queryToken: `canary-query-${RUN}-eeeeeeee`,
  recoveryCode: `canary-recovery-${RUN}`
}

/** sensitive field names whose values, wherever they appear on the wire, must not be logged */
const SENSITIVE = /password|token|jwt|secret|verifier|challenge|recovery_code|^code$/i

interface Harness {
  app: FastifyInstance
  logs: string[]
  /** every sensitive value the BFF handled (bodies, cookies, upstream traffic) */
  seen: Set<string>
  /** each BFF route driven, with what it answered (status and error type) */
  driven: Map<string, string[]>
}

async function harness (t: Test, vertical: Vertical, apiUrl?: string): Promise<Harness & { emulator?: FastifyInstance }> {
  let emulator: FastifyInstance | undefined
  let url = apiUrl
  if (url === undefined) {
    emulator = await buildEmulator({ secret: CANARY.secret, demoPassword: CANARY.password })
    url = await emulator.listen({ host: '127.0.0.1', port: 0 })
    t.teardown(() => emulator?.close())
  }
  const config = loadConfig({
    STYTCH_PROJECT_ID: emulator?.emulator.projectId ?? 'project-test-00000000-0000-4000-8000-000000000000',
    STYTCH_SECRET: CANARY.secret,
    STYTCH_API_URL: url,
    STYTCH_VERTICAL: vertical,
    LOG_LEVEL: 'trace',
    UPSTREAM_TIMEOUT_MS: '300',
    RESET_PASSWORD_REDIRECT_URL: 'https://app.example.com/reset',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_IDENTIFIER_PER_HOUR: '100000'
  })
  const logs: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { logs.push(String(chunk)); cb() } })
  const app = await buildApp(config, { logger: { ...loggerOptions(config), stream } })
  await app.ready()
  t.teardown(() => app.close())
  const seen = new Set<string>(Object.values(CANARY))
  seen.add(Buffer.from(`${config.projectId}:${CANARY.secret}`).toString('base64'))
  return { app, logs, seen, driven: new Map(), ...(emulator ? { emulator } : {}) }
}

/** A browser whose every request and answer feeds the canary set. */
class Driver extends Browser {
  constructor (private readonly h: Harness) { super(h.app, { authorization: `Bearer ${CANARY.bearer}` }) }

  async send (method: 'GET' | 'POST', path: string, body?: Record<string, unknown>): Promise<LightMyRequestResponse> {
    collect(body, this.h.seen)
    const res = await this.request(method, `${path}?token=${CANARY.queryToken}&password=${encodeURIComponent(CANARY.password)}`, method === 'POST' ? (body ?? {}) : undefined)
    for (const c of setCookies(res)) if (c.value.length >= 8) this.h.seen.add(c.value)
    const key = `${method} ${path}`
    const errorType = res.statusCode >= 400 ? (res.json() as { error_type?: string }).error_type : undefined
    this.h.driven.set(key, [...(this.h.driven.get(key) ?? []), errorType ? `${res.statusCode} ${errorType}` : String(res.statusCode)])
    return res
  }
}

function collect (value: unknown, into: Set<string>, key = ''): void {
  if (typeof value === 'string') {
    if (SENSITIVE.test(key) && value.length >= 8) into.add(value)
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, into, key)
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) collect(v, into, k)
  }
}

/** the canary body of every endpoint-table row (both verticals) */
function canaryBody (path: string, ids: { organization_id: string; member_id: string } = { organization_id: DEMO.org, member_id: 'member-canary' }): Record<string, unknown> {
  const org = ids.organization_id
  const bodies: Record<string, Record<string, unknown>> = {
    '/b2b/passwords/authenticate': { organization_id: org, email_address: DEMO.email, password: CANARY.wrongPassword },
    '/b2b/passwords/strength_check': { password: CANARY.newPassword, email_address: DEMO.email },
    '/b2b/passwords/email/reset/start': { organization_id: org, email_address: DEMO.email },
    '/b2b/passwords/email/reset': { password_reset_token: CANARY.token, password: CANARY.newPassword },
    '/b2b/passwords/existing_password/reset': { organization_id: org, email_address: DEMO.email, existing_password: CANARY.wrongPassword, new_password: CANARY.newPassword },
    '/b2b/passwords/session/reset': { organization_id: org, password: CANARY.newPassword },
    '/b2b/passwords/discovery/authenticate': { email_address: DEMO.email, password: CANARY.wrongPassword },
    '/b2b/passwords/discovery/email/reset/start': { email_address: DEMO.email },
    '/b2b/passwords/discovery/email/reset': { password_reset_token: CANARY.token, password: CANARY.newPassword },
    '/b2b/discovery/organizations': {},
    '/b2b/discovery/intermediate_sessions/exchange': { organization_id: org },
    '/b2b/discovery/organizations/create': { organization_name: `Canary ${RUN}`, organization_slug: `canary-${RUN}` },
    '/b2b/sessions/exchange': { organization_id: org },
    '/b2b/otps/sms/send': { ...ids },
    '/b2b/otps/sms/authenticate': { ...ids, code: '000000' },
    '/b2b/totps/authenticate': { ...ids, code: '000000' },
    '/b2b/recovery_codes/recover': { ...ids, recovery_code: CANARY.recoveryCode },
    '/passwords': { email: `canary-${RUN}@example.com`, password: CANARY.newPassword },
    '/passwords/authenticate': { email: DEMO.email, password: CANARY.wrongPassword },
    '/passwords/strength_check': { password: CANARY.newPassword, email: DEMO.email },
    '/passwords/email/reset/start': { email: DEMO.email },
    '/passwords/email/reset': { token: CANARY.token, password: CANARY.newPassword },
    '/passwords/existing_password/reset': { email: DEMO.email, existing_password: CANARY.wrongPassword, new_password: CANARY.newPassword },
    '/passwords/session/reset': { password: CANARY.newPassword }
  }
  const body = bodies[path]
  if (body === undefined) throw new Error(`no canary body for ${path}: add the new endpoint-table row to this test`)
  return body
}

const FORGED_COOKIES: Record<string, string> = {
  '__Host-stytch_session': CANARY.cookieToken,
  '__Host-stytch_session_jwt': CANARY.cookieJwt,
  '__Host-stytch_intermediate_session': CANARY.cookieToken,
  '__Host-stytch_pkce': CANARY.token
}

const rows = (vertical: Vertical) => ENDPOINTS.filter((e) => e.vertical === vertical)

/** Every row with canaries, then the native routes, from a browser holding `cookies`. */
async function driveEveryRoute (h: Harness, vertical: Vertical, cookies: Record<string, string>, ids?: { organization_id: string; member_id: string }): Promise<void> {
  for (const row of rows(vertical)) {
    const driver = new Driver(h)
    for (const [k, v] of Object.entries(cookies)) driver.cookies.set(k, v)
    await driver.send('POST', `/auth${row.path}`, canaryBody(row.path, ids))
  }
  const driver = new Driver(h)
  for (const [k, v] of Object.entries(cookies)) driver.cookies.set(k, v)
  await driver.send('GET', '/auth/session')
  await driver.send('GET', '/auth/verify')
  await driver.send('POST', '/auth/logout')
}

function assertNoLeak (t: Test, h: Harness, vertical: Vertical): void {
  for (const row of rows(vertical)) {
    const statuses = h.driven.get(`POST /auth${row.path}`)
    // the route exists (not the BFF's own not_found) and never failed internally
    t.ok(statuses && statuses.every((s) => !/ (not_found|internal_error)$/.test(s)), `${row.path} was driven (${statuses?.join(', ')})`)
  }
  for (const native of ['GET /auth/session', 'GET /auth/verify', 'POST /auth/logout']) t.ok(h.driven.has(native), `${native} was driven`)
  const text = h.logs.join('')
  const requests = [...h.driven.values()].reduce((n, s) => n + s.length, 0)
  t.ok(h.logs.filter((l) => l.includes('"req":')).length >= requests, `the logs are not empty: ${h.logs.length} lines for ${requests} requests`)
  const leaked = [...h.seen].filter((value) => text.includes(value))
  t.same(leaked, [], `none of the ${h.seen.size} passwords, tokens, cookies or secrets appears in ${h.logs.length} log lines`)
  t.notMatch(text, /eyJ[A-Za-z0-9_-]+\.eyJ/, 'no JWT-shaped string in the logs')
  t.notMatch(text, /Basic [A-Za-z0-9+/=]{8,}/, 'no Basic credentials in the logs')
  t.notMatch(text, /[?&](token|password)=/, 'no query string in request lines')
}

t.test('log leak, B2B against the emulator: every route, real tokens, canary secret', async (t) => {
  const h = await harness(t, 'b2b')
  const emulator = h.emulator as FastifyInstance

  // Real successes first, so real session tokens, JWTs, ISTs and PKCE verifiers flow.
  const session = new Driver(h)
  t.equal((await session.send('POST', '/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: CANARY.password })).statusCode, 200, 'login with the canary password')
  t.equal((await session.send('GET', '/auth/session')).statusCode, 200)
  t.equal((await session.send('GET', '/auth/verify')).statusCode, 200)
  t.equal((await session.send('POST', '/auth/b2b/sessions/exchange', { organization_id: DEMO.org })).statusCode, 200)
  t.equal((await session.send('POST', '/auth/b2b/passwords/existing_password/reset', { organization_id: DEMO.org, email_address: DEMO.email, existing_password: CANARY.password, new_password: CANARY.newPassword })).statusCode, 200)
  t.equal((await session.send('POST', '/auth/b2b/passwords/session/reset', { organization_id: DEMO.org, password: CANARY.password })).statusCode, 200)

  const reset = new Driver(h)
  t.equal((await reset.send('POST', '/auth/b2b/passwords/email/reset/start', { organization_id: DEMO.org, email_address: DEMO.email })).statusCode, 200)
  const link = emulator.emulator.outbox.filter((m) => m.kind === 'reset_password').at(-1)
  t.equal((await reset.send('POST', '/auth/b2b/passwords/email/reset', { password_reset_token: link?.token ?? 'missing', password: CANARY.password })).statusCode, 200, 'reset with the real token')

  const discovery = new Driver(h)
  t.equal((await discovery.send('POST', '/auth/b2b/passwords/discovery/authenticate', { email_address: DEMO.email, password: CANARY.password })).statusCode, 200)
  t.equal((await discovery.send('POST', '/auth/b2b/discovery/organizations', {})).statusCode, 200)
  t.equal((await discovery.send('POST', '/auth/b2b/discovery/organizations/create', { organization_name: `Canary ${RUN}`, organization_slug: `canary-${RUN}` })).statusCode, 200)

  const mfa = new Driver(h)
  const pending = (await mfa.send('POST', '/auth/b2b/passwords/authenticate', { organization_id: 'mfa-org', email_address: DEMO.email, password: CANARY.password })).json()
  const ids = { organization_id: pending.organization_id as string, member_id: pending.member_id as string }
  t.equal((await mfa.send('POST', '/auth/b2b/otps/sms/send', ids)).statusCode, 200)
  const recovery = emulator.emulator.store.recoveryCodes(ids.member_id)[0] ?? 'missing'
  h.seen.add(recovery)
  t.equal((await mfa.send('POST', '/auth/b2b/recovery_codes/recover', { ...ids, recovery_code: recovery })).statusCode, 200, 'MFA finished with a real recovery code')
  t.equal((await mfa.send('POST', '/auth/logout')).statusCode, 204)

  // Then every route again with canaries: once with the real cookies, once with forged ones.
  await driveEveryRoute(h, 'b2b', Object.fromEntries(session.cookies), ids)
  await driveEveryRoute(h, 'b2b', Object.fromEntries(new Driver(h).cookies), ids)
  const pendingAgain = new Driver(h)
  await pendingAgain.send('POST', '/auth/b2b/passwords/authenticate', { organization_id: 'mfa-org', email_address: DEMO.email, password: CANARY.password })
  await driveEveryRoute(h, 'b2b', Object.fromEntries(pendingAgain.cookies), ids)
  await driveEveryRoute(h, 'b2b', FORGED_COOKIES, ids)

  for (const r of emulator.emulator.requests) { collect(r.body, h.seen); collect(r.response, h.seen) }
  t.ok(h.seen.size > 30, `${h.seen.size} sensitive values collected from the wire`)
  assertNoLeak(t, h, 'b2b')
})

t.test('log leak, consumer against the emulator: every route, real tokens, canary secret', async (t) => {
  const h = await harness(t, 'consumer')
  const emulator = h.emulator as FastifyInstance

  const signUp = new Driver(h)
  t.equal((await signUp.send('POST', '/auth/passwords', { email: `new-${RUN}@example.com`, password: CANARY.newPassword })).statusCode, 200, 'sign-up with a canary password')
  const session = new Driver(h)
  t.equal((await session.send('POST', '/auth/passwords/authenticate', { email: DEMO.email, password: CANARY.password })).statusCode, 200, 'login with the canary password')
  t.equal((await session.send('GET', '/auth/session')).statusCode, 200)
  t.equal((await session.send('GET', '/auth/verify')).statusCode, 200)
  t.equal((await session.send('POST', '/auth/passwords/existing_password/reset', { email: DEMO.email, existing_password: CANARY.password, new_password: CANARY.newPassword })).statusCode, 200)
  t.equal((await session.send('POST', '/auth/passwords/session/reset', { password: CANARY.password })).statusCode, 200)
  const reset = new Driver(h)
  t.equal((await reset.send('POST', '/auth/passwords/email/reset/start', { email: DEMO.email })).statusCode, 200)
  const link = emulator.emulator.outbox.filter((m) => m.kind === 'reset_password').at(-1)
  t.equal((await reset.send('POST', '/auth/passwords/email/reset', { token: link?.token ?? 'missing', password: CANARY.password })).statusCode, 200, 'reset with the real token')

  await driveEveryRoute(h, 'consumer', Object.fromEntries(session.cookies))
  await driveEveryRoute(h, 'consumer', FORGED_COOKIES)
  for (const r of emulator.emulator.requests) { collect(r.body, h.seen); collect(r.response, h.seen) }
  assertNoLeak(t, h, 'consumer')
})

t.test('log leak against a hostile Stytch that echoes what it receives, hangs and sends garbage', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  let n = 0
  // Everything the BFF sent, echoed back in error messages, headers and bodies, in every failure shape.
  fake.handler = (req, res, body) => {
    const echo = `${body} ${String(req.headers.authorization)}`
    switch (n++ % 6) {
      case 0: res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status_code: 400, error_type: 'bad_request', error_message: echo, request_id: 'request-id-echo' })); break
      case 1: res.writeHead(500, { 'content-type': 'application/json', 'x-echo': encodeURIComponent(echo) }).end(JSON.stringify({ error_message: echo })); break
      case 2: res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${echo}</html>`); break
      case 3: res.writeHead(302, { location: `https://evil.example/?${encodeURIComponent(echo)}` }).end(); break
      case 4: break // hang: the BFF gives up after UPSTREAM_TIMEOUT_MS
      default: res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status_code: 200, request_id: 'r', session_token: CANARY.token, session_jwt: CANARY.cookieJwt, intermediate_session_token: CANARY.cookieToken, echo }))
    }
  }
  for (const vertical of ['b2b', 'consumer'] as const) {
    const h = await harness(t, vertical, fake.url)
    await driveEveryRoute(h, vertical, FORGED_COOKIES)
    await driveEveryRoute(h, vertical, {})
    t.ok(h.logs.some((l) => /"level":40/.test(l) && /stytch call failed/.test(l)), `${vertical}: upstream failures are logged at warn`)
    assertNoLeak(t, h, vertical)
  }
})

// ---- the logger options on their own

function capture (): { log: pino.Logger; lines: string[] } {
  const lines: string[] = []
  const config = loadConfig({ STYTCH_PROJECT_ID: 'project-test-x', STYTCH_SECRET: CANARY.secret, LOG_LEVEL: 'trace' })
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const { level, redact, formatters, hooks, serializers } = loggerOptions(config) as pino.LoggerOptions
  return { log: pino({ level, redact, formatters, hooks, serializers }, stream), lines }
}

t.test('redaction reaches nested objects, arrays and errors, and keeps useful fields', async (t) => {
  const { log, lines } = capture()
  log.info({
    upstream: { endpoint: '/v1/b2b/passwords/authenticate', error_type: 'unauthorized_credentials', member_id: 'member-1' },
    a: { b: { c: { d: { password: 'p-nested-1', list: [{ session_token: 't-nested-2' }, { deeper: [{ Authorization: 'Basic xyz-nested-3' }] }] } } } },
    headers: { cookie: 'sid=cookie-nested-4', 'set-cookie': ['a=cookie-nested-5'] },
    body: { new_password: 'p-nested-6', intermediate_session_token: 't-nested-7', code_verifier: 'v-nested-8', recovery_code: 'r-nested-9', code: '123456' }
  }, 'nested')
  const err = Object.assign(new Error('upstream failed'), { session_jwt: 't-error-10', details: { password: 'p-error-11' } })
  log.error({ err }, 'with an error')
  const text = lines.join('')
  for (const value of ['p-nested-1', 't-nested-2', 'xyz-nested-3', 'cookie-nested-4', 'cookie-nested-5', 'p-nested-6', 't-nested-7', 'v-nested-8', 'r-nested-9', '123456', 't-error-10', 'p-error-11']) {
    t.notOk(text.includes(value), `${value} is redacted`)
  }
  t.match(text, CENSOR, 'replaced by the censor, not dropped silently')
  const first = JSON.parse(lines[0] as string)
  t.same(first.upstream, { endpoint: '/v1/b2b/passwords/authenticate', error_type: 'unauthorized_credentials', member_id: 'member-1' }, 'ordinary fields stay readable')
  t.equal(JSON.parse(lines[1] as string).err.message, 'upstream failed', 'error messages stay readable')
})

t.test('the Stytch secret, its Basic credentials and JWTs are scrubbed from messages and stacks too', async (t) => {
  const { log, lines } = capture()
  const basic = Buffer.from(`project-test-x:${CANARY.secret}`).toString('base64')
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZW1iZXIifQ.c2lnbmF0dXJl'
  log.warn(`secret in a message: ${CANARY.secret}`)
  log.warn({ note: `header Basic ${basic}` }, 'basic')
  log.error({ err: new Error(`boom ${CANARY.secret} ${jwt}`) }, `jwt ${jwt}`)
  const text = lines.join('')
  t.notOk(text.includes(CANARY.secret), 'no secret')
  t.notOk(text.includes(basic), 'no Basic credentials')
  t.notOk(text.includes(jwt), 'no JWT')
  t.equal(lines.length, 3, 'the lines are still written')
})

t.test('request lines carry the path without its query string', async (t) => {
  const { log, lines } = capture()
  log.info({ req: { method: 'GET', url: '/auth/verify?token=q-secret-1&x=1#frag', id: 'req-1', ip: '192.0.2.1' } }, 'request completed')
  const line = JSON.parse(lines[0] as string)
  t.same(line.req, { method: 'GET', url: '/auth/verify', id: 'req-1', ip: '192.0.2.1' })
  t.notMatch(lines[0], /q-secret-1/)
})

t.test('one request line per request, and lines logged during a request carry its request id', async (t) => {
  const { app, logs } = await buildTestApp(t, { TRUST_PROXY: '127.0.0.1' })
  // a forged session: Stytch refuses the revoke, which logout logs at warn during the request
  const res = await app.inject({
    method: 'POST',
    url: '/auth/logout?next=/home',
    headers: { 'x-csrf': '1', 'x-request-id': 'gw-logout-1', 'x-forwarded-for': '198.51.100.7', cookie: '__Host-stytch_session=forged-session-token-123' }
  })
  t.equal(res.statusCode, 204)
  const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === 'gw-logout-1')
  t.same(lines.map((l) => l.msg), ['session revoke failed; cookies expired anyway', 'request completed'])
  t.match(lines[0], { level: 40, error_type: String })
  t.same(lines[1]!.req, { method: 'POST', url: '/auth/logout', id: 'gw-logout-1', ip: '198.51.100.7' })
  t.same(lines[1]!.res, { statusCode: 204 })
  t.type(lines[1]!.responseTime, 'number')
  t.notOk(logs.some((l) => l.includes('forged-session-token-123')), 'the cookie is never logged')
  const plain = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'gw-health-1' } })
  t.equal(plain.statusCode, 200)
  t.same(logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === 'gw-health-1').map((l) => l.msg), ['request completed'])
})

t.test('LOG_EXCLUDE_PATHS: no request line for a successful verify, a line for its 401 and for other paths', async (t) => {
  const { app, logs } = await buildTestApp(t, { LOG_EXCLUDE_PATHS: '/auth/verify,/auth/verify/*' })
  const browser = new Browser(app)
  const login = await browser.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password }, { 'x-request-id': 'excl-login' })
  t.equal(login.statusCode, 200)
  const ok = await browser.get('/auth/verify?from=gateway', { 'x-request-id': 'excl-ok' })
  t.equal(ok.statusCode, 200)
  const envoy = await browser.get('/auth/verify/api/orders', { 'x-request-id': 'excl-envoy' })
  t.equal(envoy.statusCode, 200)
  const refused = await app.inject({ method: 'GET', url: '/auth/verify', headers: { 'x-request-id': 'excl-401' } })
  t.equal(refused.statusCode, 401)
  const byId = (id: string) => logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === id)
  t.same(byId('excl-ok'), [], 'no line for a 200 verify')
  t.same(byId('excl-envoy'), [], 'no line for a 200 verify with the original path appended')
  t.same(byId('excl-401').map((l) => [l.msg, (l.res as { statusCode: number }).statusCode]), [['request completed', 401]], 'the 401 is logged')
  t.same(byId('excl-login').map((l) => l.msg), ['request completed'], 'other paths still log')
})

t.test('without LOG_EXCLUDE_PATHS a successful verify writes its request line', async (t) => {
  const { app, logs } = await buildTestApp(t)
  const browser = new Browser(app)
  t.equal((await browser.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })).statusCode, 200)
  t.equal((await browser.get('/auth/verify', { 'x-request-id': 'incl-ok' })).statusCode, 200)
  t.same(logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.reqId === 'incl-ok').map((l) => l.msg), ['request completed'])
})
