import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { json, startFakeUpstream } from '../fake-upstream.js'
import { assertNoTokens, Browser, buildTestApp, DEMO, loggedInBrowser, setCookies, upstreamBody } from '../helper.js'

// The session list and the ways out: GET /auth/sessions, POST /auth/sessions/revoke and
// POST /auth/logout {"everywhere": true}, for B2B and consumer.

const B2B_LOGIN = '/auth/b2b/passwords/authenticate'
const b2bLogin = { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password }
const CONSUMER_LOGIN = '/auth/passwords/authenticate'
const consumerLogin = { email: DEMO.email, password: DEMO.password }
const ALL = ['__Host-stytch_session', '__Host-stytch_session_jwt', '__Host-stytch_intermediate_session', '__Host-stytch_pkce']
const B2B_LIST = '/v1/b2b/sessions'
const B2B_REVOKE = '/v1/b2b/sessions/revoke'

interface Listed { member_session_id?: string; session_id?: string; current: boolean; [key: string]: unknown }

/** A session of another member (a new organization created through discovery), straight from the emulator. */
async function otherMemberSession (emulator: FastifyInstance): Promise<{ member_session_id: string; session_token: string }> {
  const { projectId, secret, demoPassword } = emulator.emulator
  const call = async (url: string, body: unknown) => (await emulator.inject({
    method: 'POST',
    url,
    headers: { authorization: `Basic ${Buffer.from(`${projectId}:${secret}`).toString('base64')}`, 'content-type': 'application/json' },
    payload: JSON.stringify(body)
  })).json()
  const discovery = await call('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO.email, password: demoPassword })
  const created = await call('/v1/b2b/discovery/organizations/create', { intermediate_session_token: discovery.intermediate_session_token, organization_name: 'Other', organization_slug: 'other-org' })
  return { member_session_id: created.member_session.member_session_id, session_token: created.session_token }
}

const expiredNames = (res: Parameters<typeof setCookies>[0]) => setCookies(res).filter((c) => c.attributes['max-age'] === '0').map((c) => c.name).sort()

t.test('GET /auth/sessions without a cookie is 401 session_missing, no upstream call', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/auth/sessions' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().error_type, 'session_missing')
  t.equal(emulator.emulator.count(), 0)
})

t.test('GET /auth/sessions lists the member\'s live sessions, marks the current one, carries no token', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const phone = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  await otherMemberSession(emulator) // another member's session is never listed

  const res = await laptop.get('/auth/sessions')
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  const body = res.json()
  t.match(body, { status_code: 200, request_id: /^request-id-test-/ })
  const sessions = body.member_sessions as Listed[]
  t.equal(sessions.length, 2)
  for (const s of sessions) {
    t.match(s, { member_session_id: String, member_id: String, organization_id: String, started_at: String, last_accessed_at: String, expires_at: String, authentication_factors: [{ type: 'password' }] })
  }
  t.same(sessions.map((s) => s.current), [true, false], 'the laptop signed in first and is the current one')
  const fromPhone = (await phone.get('/auth/sessions')).json().member_sessions as Listed[]
  t.same(fromPhone.map((s) => s.current), [false, true])

  const lists = emulator.emulator.requests.filter((r) => r.path === B2B_LIST)
  t.same(lists.map((r) => r.method), ['GET', 'GET'], 'one sessions/get per list')
  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /stytch_upstream_requests_total\{endpoint="\/v1\/b2b\/sessions",status="200"\} 2/, 'counted by path')
  t.notMatch(metrics, new RegExp(String(sessions[0]!.member_id)), 'no member id in a metric label')
})

t.test('GET /auth/sessions strips token fields at any depth of Stytch\'s answer', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  const { app } = await buildTestApp(t, { STYTCH_API_URL: fake.url })
  const memberSession = (id: string) => ({ member_session_id: id, member_id: 'member-1', organization_id: 'org-1', roles: [] })
  fake.handler = (req, res) => {
    if (req.url?.startsWith('/v1/b2b/sessions/authenticate')) {
      return json(res, 200, { status_code: 200, request_id: 'r1', member_session: memberSession('ms-1'), session_token: 'tok-new', session_jwt: '' })
    }
    json(res, 200, {
      status_code: 200,
      request_id: 'r2',
      session_jwt: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig',
      member_sessions: [
        { ...memberSession('ms-1'), session_token: 'tok-a', nested: { session_jwt: 'jwt-b', keep: 1 } },
        { ...memberSession('ms-2'), intermediate_session_token: 'ist-c' }
      ]
    })
  }
  const res = await app.inject({ method: 'GET', url: '/auth/sessions', headers: { cookie: '__Host-stytch_session=tok-1' } })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.notMatch(res.body, /tok-a|jwt-b|ist-c/)
  t.same(res.json().member_sessions, [
    { ...memberSession('ms-1'), nested: { keep: 1 }, current: true },
    { ...memberSession('ms-2'), current: false }
  ])
  const list = fake.requests.find((r) => r.url.startsWith('/v1/b2b/sessions?'))
  t.equal(list?.method, 'GET')
  t.equal(list?.url, '/v1/b2b/sessions?organization_id=org-1&member_id=member-1', 'ids of the signed-in member, from the session')
})

t.test('a session Stytch rejects: 401 session_invalid, its cookies expired, no list asked', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const browser = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const twin = new Browser(app)
  for (const [k, v] of browser.cookies) twin.cookies.set(k, v)
  await twin.post('/auth/logout')
  for (const [method, url, body] of [['GET', '/auth/sessions'], ['POST', '/auth/sessions/revoke', { session_id: 'member-session-test-x' }]] as const) {
    const copy = new Browser(app)
    for (const [k, v] of browser.cookies) copy.cookies.set(k, v)
    const res = await copy.request(method, url, body)
    t.equal(res.statusCode, 401, url)
    t.equal(res.json().error_type, 'session_invalid')
    t.same(expiredNames(res), ALL.slice(0, 3).sort(), 'session, JWT and IST cookies expired')
  }
  t.equal(emulator.emulator.requests.filter((r) => r.path === B2B_LIST).length, 0)
})

t.test('POST /auth/sessions/revoke ends another of the caller\'s sessions; this one keeps its cookies', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const phone = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const phoneSession = ((await phone.get('/auth/sessions')).json().member_sessions as Listed[]).find((s) => s.current)!

  const res = await laptop.post('/auth/sessions/revoke', { session_id: phoneSession.member_session_id })
  t.equal(res.statusCode, 200)
  t.match(res.json(), { status_code: 200, request_id: /^request-id-test-/ })
  assertNoTokens(t, res)
  t.same(expiredNames(res), [], 'the caller stays signed in')
  t.same(upstreamBody(emulator, B2B_REVOKE), { member_session_id: phoneSession.member_session_id }, 'revoked by id; no token from the body')

  t.equal((await phone.get('/auth/session')).statusCode, 401, 'the phone is signed out')
  t.equal((await laptop.get('/auth/session')).statusCode, 200, 'the laptop is not')
  const left = (await laptop.get('/auth/sessions')).json().member_sessions as Listed[]
  t.same(left.map((s) => s.current), [true])
})

t.test('POST /auth/sessions/revoke of the current session signs this browser out: every cookie expired', async (t) => {
  const { app } = await buildTestApp(t)
  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const current = ((await laptop.get('/auth/sessions')).json().member_sessions as Listed[])[0]!
  const res = await laptop.post('/auth/sessions/revoke', { session_id: current.member_session_id })
  t.equal(res.statusCode, 200)
  t.same(expiredNames(res), [...ALL].sort())
  for (const c of setCookies(res)) t.match(c.attributes, { secure: true, path: '/', httponly: true })
  t.equal(laptop.cookies.size, 0)
})

t.test('another member\'s session id, or an unknown one, is 404 session_not_found and never revoked', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const other = await otherMemberSession(emulator)
  for (const id of [other.member_session_id, 'member-session-test-00000000-0000-4000-8000-000000000000']) {
    const res = await laptop.post('/auth/sessions/revoke', { session_id: id })
    t.equal(res.statusCode, 404)
    t.match(res.json(), { status_code: 404, error_type: 'session_not_found', request_id: res.headers['x-request-id'] })
  }
  t.equal(emulator.emulator.count(B2B_REVOKE), 0, 'Stytch was never asked to revoke')
  const { projectId, secret } = emulator.emulator
  const still = await emulator.inject({
    method: 'POST',
    url: '/v1/b2b/sessions/authenticate',
    headers: { authorization: `Basic ${Buffer.from(`${projectId}:${secret}`).toString('base64')}`, 'content-type': 'application/json' },
    payload: JSON.stringify({ session_token: other.session_token })
  })
  t.equal(still.statusCode, 200, 'the other member is still signed in')
})

t.test('POST /auth/sessions/revoke: CSRF guard, strict body, credential never from the body', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const noCsrf = await app.inject({ method: 'POST', url: '/auth/sessions/revoke', headers: { 'content-type': 'application/json', cookie: laptop.cookieHeader()! }, payload: '{"session_id":"x"}' })
  t.equal(noCsrf.statusCode, 403)
  t.equal(noCsrf.json().error_type, 'csrf_failed')
  const crossOrigin = await laptop.post('/auth/sessions/revoke', { session_id: 'x' }, { origin: 'https://evil.example' })
  t.equal(crossOrigin.json().error_type, 'origin_not_allowed')
  const owned = await laptop.post('/auth/sessions/revoke', { session_id: 'x', session_token: 'stolen' })
  t.equal(owned.statusCode, 400)
  t.equal(owned.json().error_type, 'field_not_allowed')
  for (const body of [{}, { session_id: '' }, { session_id: 1 }, { session_id: 'x', member_id: 'm' }]) {
    const res = await laptop.post('/auth/sessions/revoke', body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.json().error_type, 'invalid_request')
  }
  t.equal(emulator.emulator.count('/v1/b2b/sessions'), 0, 'no refused request reached Stytch\'s sessions')
})

t.test('POST /auth/logout {"everywhere": true} ends every session of the member; verify fails elsewhere within JWT_MAX_AGE_SECONDS', async (t) => {
  const MAX_AGE = 30
  const { app, emulator } = await buildTestApp(t, { JWT_MAX_AGE_SECONDS: String(MAX_AGE) }, { now: Date.now })
  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const phone = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  t.equal((await phone.get('/auth/verify')).statusCode, 200)
  const memberId = ((await laptop.get('/auth/sessions')).json().member_sessions as Listed[])[0]!.member_id

  const res = await laptop.post('/auth/logout', { everywhere: true })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.same(expiredNames(res), [...ALL].sort(), 'every cookie expired, PKCE included')
  t.same(upstreamBody(emulator, B2B_REVOKE), { member_id: memberId }, 'one call: every session of the member')

  const authenticated = emulator.emulator.count('/v1/b2b/sessions/authenticate')
  t.equal((await phone.get('/auth/verify')).statusCode, 200, 'the phone\'s young JWT still passes locally: the documented window')
  t.equal(emulator.emulator.count('/v1/b2b/sessions/authenticate'), authenticated, 'without asking Stytch')
  emulator.emulator.clock.advance((MAX_AGE + 1) * 1000)
  const verify = await phone.get('/auth/verify')
  t.equal(verify.statusCode, 401, 'past JWT_MAX_AGE_SECONDS the phone is out')
  t.equal(verify.json().error_type, 'session_invalid')
  t.equal(phone.cookies.size, 0, 'and its cookies are expired')
})

t.test('POST /auth/logout {"everywhere": true} needs a live session; its cookies are expired whatever happens', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const none = await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1', 'content-type': 'application/json' }, payload: '{"everywhere":true}' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().error_type, 'session_missing')
  t.same(expiredNames(none), [...ALL].sort())

  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin)
  const twin = new Browser(app)
  for (const [k, v] of laptop.cookies) twin.cookies.set(k, v)
  await twin.post('/auth/logout')
  const revoked = await laptop.post('/auth/logout', { everywhere: true })
  t.equal(revoked.statusCode, 401, 'a revoked session cannot tell whose sessions to end')
  t.equal(revoked.json().error_type, 'session_invalid')
  t.same(expiredNames(revoked), [...ALL].sort())
  t.equal(emulator.emulator.requests.filter((r) => r.path === B2B_REVOKE && 'member_id' in (r.body as object)).length, 0)

  for (const body of [{ everywhere: 'yes' }, { everywhere: true, member_id: 'm' }]) {
    const res = await laptop.post('/auth/logout', body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
  }
  const plain = await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1', 'content-type': 'application/json' }, payload: '{"everywhere":false}' })
  t.equal(plain.statusCode, 204, '{"everywhere": false} is a plain logout')
})

t.test('session revoke and logout everywhere count against the auth limit; a plain logout does not', async (t) => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_AUTH_PER_MINUTE: '4' })
  const laptop = await loggedInBrowser(app, B2B_LOGIN, b2bLogin) // 1
  t.equal((await laptop.post('/auth/sessions/revoke', { session_id: 'member-session-test-nope' })).statusCode, 404) // 2
  for (let i = 0; i < 5; i++) {
    const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1' } })
    t.equal(res.statusCode, 204, 'plain logout is never rate limited by the auth bucket')
  }
  const anonymous = new Browser(app)
  t.equal((await anonymous.post('/auth/logout', { everywhere: true })).statusCode, 401) // 3
  t.equal((await anonymous.post('/auth/logout', { everywhere: 'nope' })).statusCode, 400, 'refused bodies count too') // 4
  const limited = await laptop.post('/auth/sessions/revoke', { session_id: 'member-session-test-nope' })
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error_type, 'rate_limited')
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await laptop.post('/auth/logout', { everywhere: true })).statusCode, 429)
})

t.test('consumer: the user\'s sessions, another user\'s id refused, everywhere revokes each session', async (t) => {
  const { app, emulator } = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer' })
  const laptop = await loggedInBrowser(app, CONSUMER_LOGIN, consumerLogin)
  const phone = await loggedInBrowser(app, CONSUMER_LOGIN, consumerLogin)
  const stranger = await loggedInBrowser(app, '/auth/passwords', { email: 'stranger@example.com', password: 'a-Stranger-passphrase-41' })

  const res = await laptop.get('/auth/sessions')
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  const sessions = res.json().sessions as Listed[]
  t.equal(sessions.length, 2)
  t.same(sessions.map((s) => s.current), [true, false])
  for (const s of sessions) t.match(s, { session_id: String, user_id: String, started_at: String, last_accessed_at: String, expires_at: String, authentication_factors: [{ type: 'password' }] })
  const list = emulator.emulator.requests.filter((r) => r.path === '/v1/sessions').at(-1)
  t.equal(list?.method, 'GET')
  t.equal(emulator.emulator.count('/v1/b2b'), 0)

  const strangerId = ((await stranger.get('/auth/sessions')).json().sessions as Listed[])[0]!.session_id
  const refused = await laptop.post('/auth/sessions/revoke', { session_id: strangerId })
  t.equal(refused.statusCode, 404)
  t.equal(refused.json().error_type, 'session_not_found')
  t.equal(emulator.emulator.count('/v1/sessions/revoke'), 0)

  const out = await laptop.post('/auth/logout', { everywhere: true })
  t.equal(out.statusCode, 204)
  t.same(expiredNames(out), [...ALL].sort())
  const revoked = emulator.emulator.requests.filter((r) => r.path === '/v1/sessions/revoke').map((r) => r.body)
  t.same(revoked, sessions.map((s) => ({ session_id: s.session_id })), 'each of the user\'s sessions, by id')
  t.equal((await phone.get('/auth/session')).statusCode, 401, 'the phone is out')
  t.equal((await stranger.get('/auth/session')).statusCode, 200, 'another user is not')
})

t.test('the OpenAPI document lists the session routes with their strict bodies', async (t) => {
  const { app } = await buildTestApp(t)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.ok(doc.paths['/auth/sessions']?.get, 'GET /auth/sessions')
  const revoke = doc.paths['/auth/sessions/revoke']?.post
  t.ok(revoke, 'POST /auth/sessions/revoke')
  t.match(revoke.requestBody.content['application/json'].schema, { type: 'object', additionalProperties: false, required: ['session_id'], properties: { session_id: { type: 'string' } } })
  const logout = doc.paths['/auth/logout']?.post
  t.match(JSON.stringify(logout.requestBody), /"everywhere":\{"type":"boolean"\}/)
  t.notMatch(JSON.stringify(doc.paths['/auth/sessions/revoke']), /session_token|member_id/, 'no server-owned field offered')
})
