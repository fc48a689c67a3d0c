import t from 'tap'
import { json, startFakeUpstream } from '../fake-upstream.js'
import { assertNoTokens, Browser, buildTestApp, DEMO, setCookies, upstreamBody } from '../helper.js'

const LOGIN = '/auth/b2b/passwords/authenticate'
const demoLogin = { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password }

t.test('B2B password login sets HttpOnly session and JWT cookies and no token in the body', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const res = await new Browser(app).post(LOGIN, demoLogin)
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.member_authenticated, true)
  t.match(body.request_id, /^request-id-test-/, "Stytch's request_id is kept")
  t.equal(body.member.email_address, DEMO.email)
  assertNoTokens(t, res)

  const cookies = setCookies(res)
  const session = cookies.find((c) => c.name === '__Host-stytch_session')
  const jwt = cookies.find((c) => c.name === '__Host-stytch_session_jwt')
  for (const c of [session, jwt]) {
    t.ok(c, 'cookie set')
    t.ok(c!.value.length > 10)
    t.equal(c!.attributes.httponly, true)
    t.equal(c!.attributes.secure, true)
    t.equal(c!.attributes.path, '/')
    t.equal(c!.attributes.samesite, 'Strict')
    t.notOk('domain' in c!.attributes, 'no Domain on a __Host- cookie')
    const maxAge = Number(c!.attributes['max-age'])
    t.ok(maxAge > 3500 && maxAge <= 3600, `Max-Age from the session's expires_at (${maxAge})`)
  }
  t.match(jwt!.value, /^eyJ/)
  const ist = cookies.find((c) => c.name === '__Host-stytch_intermediate_session')
  t.equal(ist?.attributes['max-age'], '0', 'a session replaces any intermediate session')

  const upstream = emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/passwords/authenticate').at(-1)!
  t.same(upstream.body, { ...demoLogin, session_duration_minutes: 60 }, 'browser fields plus configured session duration, nothing else')
  t.equal(upstream.headers.authorization, 'Basic ' + Buffer.from(`${emulator.emulator.projectId}:${emulator.emulator.secret}`).toString('base64'))
})

t.test('a wrong password passes Stytch\'s 401 through in the BFF envelope', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await new Browser(app).post(LOGIN, { ...demoLogin, password: 'wrong-password-1!' }, { 'x-request-id': 'gateway-id-42' })
  t.equal(res.statusCode, 401)
  const body = res.json()
  t.equal(body.status_code, 401)
  t.equal(body.error_type, 'unauthorized_credentials')
  t.equal(body.request_id, 'gateway-id-42')
  t.equal(res.headers['x-request-id'], 'gateway-id-42')
  t.match(body.stytch_request_id, /^request-id-test-/)
  t.type(body.error_message, 'string')
  t.same(setCookies(res), [], 'no cookie on failure')
})

t.test('unknown fields are 400 invalid_request with issues, and never reach Stytch', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const before = emulator.emulator.count()
  const res = await new Browser(app).post(LOGIN, { ...demoLogin, remember_me: true })
  t.equal(res.statusCode, 400)
  const body = res.json()
  t.equal(body.error_type, 'invalid_request')
  t.ok(Array.isArray(body.issues) && body.issues.length > 0)
  t.match(JSON.stringify(body.issues), /remember_me/)
  const missing = await new Browser(app).post(LOGIN, { organization_id: DEMO.org })
  t.equal(missing.statusCode, 400)
  t.match(missing.json().issues, [{ path: '/email_address' }, { path: '/password' }])
  t.equal(emulator.emulator.count(), before)
})

t.test('server-owned fields are 400 field_not_allowed naming them, on any route', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const before = emulator.emulator.count()
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [LOGIN, { ...demoLogin, session_token: 'x' }, 'session_token'],
    [LOGIN, { ...demoLogin, session_duration_minutes: 99999 }, 'session_duration_minutes'],
    [LOGIN, { ...demoLogin, trusted_metadata: { admin: true } }, 'trusted_metadata'],
    [LOGIN, { ...demoLogin, intermediate_session_token: 'x' }, 'intermediate_session_token'],
    ['/auth/b2b/passwords/strength_check', { password: 'x', session_custom_claims: {} }, 'session_custom_claims'],
    ['/auth/b2b/passwords/email/reset/start', { organization_id: DEMO.org, email_address: DEMO.email, reset_password_redirect_url: 'https://evil.example' }, 'reset_password_redirect_url'],
    ['/auth/b2b/passwords/email/reset/start', { organization_id: DEMO.org, email_address: DEMO.email, anything_template_id: 't' }, 'anything_template_id'],
    ['/auth/b2b/passwords/email/reset', { password_reset_token: 't', password: 'p', code_verifier: 'v' }, 'code_verifier']
  ]
  for (const [url, body, field] of cases) {
    const res = await new Browser(app).post(url, body)
    t.equal(res.statusCode, 400, field)
    t.equal(res.json().error_type, 'field_not_allowed', field)
    t.match(res.json().error_message, field)
  }
  t.equal(emulator.emulator.count(), before, 'nothing reached Stytch')
})

t.test('a login starts fresh: existing session cookies are not forwarded', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const browser = new Browser(app)
  await browser.post(LOGIN, demoLogin)
  const first = browser.cookies.get('__Host-stytch_session')
  await browser.post(LOGIN, demoLogin)
  t.same(Object.keys(upstreamBody(emulator, '/v1/b2b/passwords/authenticate')).sort(), ['email_address', 'organization_id', 'password', 'session_duration_minutes'])
  t.not(browser.cookies.get('__Host-stytch_session'), first, 'the new cookies replace the old ones')
})

t.test('passwords are forwarded byte for byte: spaces, emoji, non-Latin', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const password = '  pässwörd 🔑 пароль  '
  await new Browser(app).post(LOGIN, { ...demoLogin, password })
  t.equal(upstreamBody(emulator, '/v1/b2b/passwords/authenticate').password, password)
})

t.test('strength_check mirrors Stytch and sets no cookie', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await new Browser(app).post('/auth/b2b/passwords/strength_check', { password: 'correct horse battery staple 42!' })
  t.equal(res.statusCode, 200)
  t.type(res.json().valid_password, 'boolean')
  t.type(res.json().score, 'number')
  t.same(setCookies(res), [])
})

t.test('consumer vertical: /auth/passwords/authenticate, B2B routes are 404', async (t) => {
  const { app, emulator } = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer' })
  const browser = new Browser(app)
  const res = await browser.post('/auth/passwords/authenticate', { email: DEMO.email, password: DEMO.password })
  t.equal(res.statusCode, 200)
  t.match(res.json().user_id, /^user-/)
  assertNoTokens(t, res)
  t.ok(browser.cookies.get('__Host-stytch_session'))
  t.ok(browser.cookies.get('__Host-stytch_session_jwt'))
  t.equal(upstreamBody(emulator, '/v1/passwords/authenticate').session_duration_minutes, 60, 'consumer logins only get a session when the duration is sent')
  const strength = await browser.post('/auth/passwords/strength_check', { password: 'abc' })
  t.equal(strength.statusCode, 200)
  const b2b = await browser.post(LOGIN, demoLogin)
  t.equal(b2b.statusCode, 404)
  t.equal(b2b.json().error_type, 'not_found')
})

t.test('B2B vertical: consumer routes are 404', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await new Browser(app).post('/auth/passwords/authenticate', { email: DEMO.email, password: DEMO.password })
  t.equal(res.statusCode, 404)
})

t.test('COOKIE_SECURE=false: dev names without __Host- and no Secure', async (t) => {
  const { app } = await buildTestApp(t, { COOKIE_SECURE: 'false', COOKIE_SAMESITE: 'Lax' })
  const res = await new Browser(app).post(LOGIN, demoLogin)
  const session = setCookies(res).find((c) => c.name === 'stytch_session')
  t.ok(session)
  t.notOk('secure' in session!.attributes)
  t.equal(session!.attributes.samesite, 'Lax')
  t.notOk(setCookies(res).some((c) => c.name.startsWith('__')))
})

t.test('COOKIE_DOMAIN switches to __Secure- with a Domain attribute', async (t) => {
  const { app } = await buildTestApp(t, { COOKIE_DOMAIN: 'example.com' })
  const res = await new Browser(app).post(LOGIN, demoLogin)
  const session = setCookies(res).find((c) => c.name === '__Secure-stytch_session')
  t.ok(session)
  t.equal(session!.attributes.domain, 'example.com')
  t.equal(session!.attributes.secure, true)
})

t.test('a session JWT too large for a cookie is a logged 500 internal_error, not a dropped cookie', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  const { app, logs } = await buildTestApp(t, { STYTCH_API_URL: fake.url })
  fake.handler = (_req, res) => json(res, 200, {
    status_code: 200,
    request_id: 'r',
    member_authenticated: true,
    intermediate_session_token: '',
    session_token: 'opaque-token',
    session_jwt: 'eyJ' + 'a'.repeat(5000),
    member_session: { expires_at: new Date(Date.now() + 3600_000).toISOString() }
  })
  const res = await new Browser(app).post(LOGIN, demoLogin)
  t.equal(res.statusCode, 500)
  t.equal(res.json().error_type, 'internal_error')
  t.notMatch(res.body, /aaaa|opaque-token/)
  t.same(setCookies(res), [], 'no partial set of cookies')
  const line = logs.map((l) => JSON.parse(l)).find((l) => l.level === 50 && /4096/.test(l.msg))
  t.ok(line, 'an error-level log line says why')
  t.notMatch(JSON.stringify(line), /aaaa/)
})
