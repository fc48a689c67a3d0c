import { randomUUID } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import type { Vertical } from '../../src/config.js'
import { ENDPOINTS } from '../../src/stytch/endpoints.js'
import { Browser, buildTestApp, DEMO, setCookies } from '../helper.js'

// Tokens leave the BFF only in Set-Cookie, checked the way the log-leak test checks logs: every
// route of both verticals plus session, verify and logout is driven against the emulator (real
// session tokens, JWTs, ISTs, reset tokens flowing, a marker in the Stytch secret and in every
// password), with default settings. Every token the fake Stytch issued and every marked value is
// then looked for in every response body and every response header other than Set-Cookie.

const MARK = `MARK${randomUUID().slice(0, 8)}`
const PASSWORD = `${MARK}-Password-1!`
const NEW_PASSWORD = `${MARK}-New-Password-2!`
const TOKEN_FIELD = /token|jwt|secret|verifier|code/i

/** the BFF with default settings, in front of an emulator whose secret and demo password carry the marker */
async function harness (t: Test, vertical: Vertical) {
  const { app, emulator } = await buildTestApp(t, { STYTCH_VERTICAL: vertical, LOG_LEVEL: 'silent' }, { emulator: { secret: `secret-test-${MARK}`, demoPassword: PASSWORD } })
  return { app, emulator }
}

interface Seen { url: string; res: LightMyRequestResponse }

class Recorder extends Browser {
  constructor (app: FastifyInstance, private readonly seen: Seen[]) { super(app) }
  override async request (method: 'GET' | 'POST', url: string, body?: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse> {
    const res = await super.request(method, url, body, headers)
    this.seen.push({ url: `${method} ${url}`, res })
    return res
  }
}

/** every string the fake Stytch issued under a token-ish name, at any depth */
function issued (value: unknown, into: Set<string>, key = ''): void {
  if (typeof value === 'string') {
    if (TOKEN_FIELD.test(key) && !key.endsWith('_id') && value.length >= 8) into.add(value) // ids are not secrets
  } else if (Array.isArray(value)) {
    for (const v of value) issued(v, into, key)
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) issued(v, into, k)
  }
}

function assertNoTokenOutsideSetCookie (t: Test, vertical: Vertical, emulator: FastifyInstance, seen: Seen[]): void {
  const tokens = new Set<string>([emulator.emulator.secret])
  for (const r of emulator.emulator.requests) issued(r.response, tokens)
  for (const m of emulator.emulator.outbox) issued(m, tokens)
  t.ok(tokens.size > 10, `${tokens.size} tokens issued by the fake Stytch`)
  const setCookieValues = new Set(seen.flatMap(({ res }) => setCookies(res).map((c) => c.value)).filter((v) => v.length >= 8))
  t.ok([...setCookieValues].some((v) => tokens.has(v)), 'the issued tokens did reach the browser, in Set-Cookie')

  const routes = new Set(seen.map((s) => s.url.split('?')[0]))
  for (const row of ENDPOINTS.filter((e) => e.vertical === vertical)) t.ok(routes.has(`POST /auth${row.path}`), `POST /auth${row.path} driven`)
  for (const native of ['GET /auth/session', 'GET /auth/verify', 'POST /auth/logout']) t.ok(routes.has(native), `${native} driven`)

  const leaks: string[] = []
  for (const { url, res } of seen) {
    const places: Array<[string, string]> = [['body', res.body]]
    for (const [name, value] of Object.entries(res.headers)) {
      if (name !== 'set-cookie') places.push([`header ${name}`, String(value)])
    }
    for (const [where, text] of places) {
      if (text.includes(MARK)) leaks.push(`${url}: marker in ${where}`)
      if (/eyJ[A-Za-z0-9_-]+\.eyJ/.test(text)) leaks.push(`${url}: JWT in ${where}`)
      for (const token of tokens) if (text.includes(token)) leaks.push(`${url}: issued token in ${where}`)
    }
  }
  t.same(leaks, [], `no token in ${seen.length} response bodies or their non-Set-Cookie headers`)
}

/** every endpoint-table row with a browser holding `cookies`: bodies that fit the route, answers of any status */
async function driveEveryRow (app: FastifyInstance, seen: Seen[], vertical: Vertical, cookies: Map<string, string>) {
  for (const row of ENDPOINTS.filter((e) => e.vertical === vertical)) {
    const browser = new Recorder(app, seen)
    for (const [k, v] of cookies) browser.cookies.set(k, v)
    const body = vertical === 'b2b'
      ? { organization_id: DEMO.org, email_address: DEMO.email, password: PASSWORD }
      : { email: DEMO.email, password: PASSWORD }
    const schema = row.body.shape as Record<string, unknown>
    await browser.post(`/auth${row.path}`, Object.fromEntries(Object.entries(body).filter(([k]) => k in schema)))
  }
}

async function natives (browser: Browser, emulator: FastifyInstance) {
  await browser.get('/auth/session')
  await browser.get('/auth/verify')
  emulator.emulator.clock.advance(120_000) // the JWT grows older than JWT_MAX_AGE_SECONDS: verify refreshes it
  await browser.get('/auth/verify')
  await browser.get('/auth/verify/api/orders')
}

t.test('B2B: tokens only in Set-Cookie, on every route', async (t) => {
  const { app, emulator } = await harness(t, 'b2b')
  const seen: Seen[] = []
  const session = new Recorder(app, seen)
  t.equal((await session.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: PASSWORD })).statusCode, 200)
  await natives(session, emulator)
  t.equal((await session.post('/auth/b2b/sessions/exchange', { organization_id: DEMO.org })).statusCode, 200)
  t.equal((await session.post('/auth/b2b/passwords/existing_password/reset', { organization_id: DEMO.org, email_address: DEMO.email, existing_password: PASSWORD, new_password: NEW_PASSWORD })).statusCode, 200)
  t.equal((await session.post('/auth/b2b/passwords/session/reset', { organization_id: DEMO.org, password: PASSWORD })).statusCode, 200, 'back to the first password')

  const reset = new Recorder(app, seen)
  t.equal((await reset.post('/auth/b2b/passwords/email/reset/start', { organization_id: DEMO.org, email_address: DEMO.email })).statusCode, 200)
  const link = emulator.emulator.outbox.filter((m) => m.kind === 'reset_password').at(-1)
  t.equal((await reset.post('/auth/b2b/passwords/email/reset', { password_reset_token: link?.token ?? 'missing', password: NEW_PASSWORD })).statusCode, 200, 'reset with the real token')

  const discovery = new Recorder(app, seen)
  t.equal((await discovery.post('/auth/b2b/passwords/discovery/authenticate', { email_address: DEMO.email, password: NEW_PASSWORD })).statusCode, 200)
  t.equal((await discovery.post('/auth/b2b/discovery/organizations', {})).statusCode, 200)
  t.equal((await discovery.post('/auth/b2b/discovery/organizations/create', { organization_name: `Org ${MARK.slice(4)}`, organization_slug: `org-${MARK.slice(4).toLowerCase()}` })).statusCode, 200)

  const mfa = new Recorder(app, seen)
  const pending = (await mfa.post('/auth/b2b/passwords/authenticate', { organization_id: 'mfa-org', email_address: DEMO.email, password: NEW_PASSWORD })).json()
  const ids = { organization_id: pending.organization_id as string, member_id: pending.member_id as string }
  t.ok(mfa.cookies.get('__Host-stytch_intermediate_session'), 'MFA pending: an IST cookie')
  t.equal((await mfa.post('/auth/b2b/otps/sms/send', ids)).statusCode, 200)
  const recovery = emulator.emulator.store.recoveryCodes(ids.member_id)[0] ?? 'missing'
  t.equal((await mfa.post('/auth/b2b/recovery_codes/recover', { ...ids, recovery_code: recovery })).statusCode, 200)

  await driveEveryRow(app, seen, 'b2b', session.cookies)
  await driveEveryRow(app, seen, 'b2b', new Map())
  const revoked = new Map(mfa.cookies)
  t.equal((await mfa.post('/auth/logout')).statusCode, 204)
  const after = new Recorder(app, seen)
  for (const [k, v] of revoked) after.cookies.set(k, v)
  emulator.emulator.clock.advance(120_000)
  t.equal((await after.get('/auth/verify')).statusCode, 401, 'a revoked session: 401 with its cookies expired')
  t.equal((await session.post('/auth/logout')).statusCode, 204)
  assertNoTokenOutsideSetCookie(t, 'b2b', emulator, seen)
})

t.test('consumer: tokens only in Set-Cookie, on every route', async (t) => {
  const { app, emulator } = await harness(t, 'consumer')
  const seen: Seen[] = []
  const signUp = new Recorder(app, seen)
  t.equal((await signUp.post('/auth/passwords', { email: `new-${MARK.slice(4)}@example.com`, password: NEW_PASSWORD })).statusCode, 200)
  const session = new Recorder(app, seen)
  t.equal((await session.post('/auth/passwords/authenticate', { email: DEMO.email, password: PASSWORD })).statusCode, 200)
  await natives(session, emulator)
  t.equal((await session.post('/auth/passwords/existing_password/reset', { email: DEMO.email, existing_password: PASSWORD, new_password: NEW_PASSWORD })).statusCode, 200)
  t.equal((await session.post('/auth/passwords/session/reset', { password: PASSWORD })).statusCode, 200)
  const reset = new Recorder(app, seen)
  t.equal((await reset.post('/auth/passwords/email/reset/start', { email: DEMO.email })).statusCode, 200)
  const link = emulator.emulator.outbox.filter((m) => m.kind === 'reset_password').at(-1)
  t.equal((await reset.post('/auth/passwords/email/reset', { token: link?.token ?? 'missing', password: NEW_PASSWORD })).statusCode, 200)
  await driveEveryRow(app, seen, 'consumer', session.cookies)
  t.equal((await session.post('/auth/logout')).statusCode, 204)
  assertNoTokenOutsideSetCookie(t, 'consumer', emulator, seen)
})
