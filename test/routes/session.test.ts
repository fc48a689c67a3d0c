import t from 'tap'
import { json, startFakeUpstream } from '../fake-upstream.js'
import { assertNoTokens, Browser, buildTestApp, DEMO, setCookies } from '../helper.js'

const LOGIN = '/auth/b2b/passwords/authenticate'
const demoLogin = { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password }
const ALL = ['__Host-stytch_session', '__Host-stytch_session_jwt', '__Host-stytch_intermediate_session', '__Host-stytch_pkce']

t.test('GET /auth/session without a cookie is 401 session_missing', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/auth/session' })
  t.equal(res.statusCode, 401)
  t.equal(res.json().error_type, 'session_missing')
  t.equal(emulator.emulator.count('/v1/b2b/sessions'), 0)
})

t.test('GET /auth/session answers Stytch\'s session minus tokens and refreshes the JWT cookie', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const browser = new Browser(app)
  await browser.post(LOGIN, demoLogin)
  const oldJwt = browser.cookies.get('__Host-stytch_session_jwt')
  emulator.emulator.clock.advance(1000)
  const res = await browser.get('/auth/session')
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.member.email_address, DEMO.email)
  t.ok(body.member_session.member_session_id)
  assertNoTokens(t, res)
  const jwt = setCookies(res).find((c) => c.name === '__Host-stytch_session_jwt')
  t.ok(jwt, 'JWT cookie re-issued')
  t.not(jwt!.value, oldJwt, 'with the new JWT')
  t.equal(jwt!.attributes.httponly, true)
  const upstream = emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/sessions/authenticate').at(-1)
  t.same(upstream?.body, { session_token: browser.cookies.get('__Host-stytch_session'), session_duration_minutes: 60 }, 'sliding: duration sent, opaque token preferred')
})

t.test('SESSION_SLIDING=false does not extend the session', async (t) => {
  const { app, emulator } = await buildTestApp(t, { SESSION_SLIDING: 'false' })
  const browser = new Browser(app)
  await browser.post(LOGIN, demoLogin)
  await browser.get('/auth/session')
  const upstream = emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/sessions/authenticate').at(-1)
  t.same(Object.keys(upstream?.body as object), ['session_token'])
})

t.test('a session rejected upstream is 401 session_invalid and its cookies are expired with their attributes', async (t) => {
  const { app } = await buildTestApp(t)
  const browser = new Browser(app)
  await browser.post(LOGIN, demoLogin)
  const other = new Browser(app)
  for (const [k, v] of browser.cookies) other.cookies.set(k, v)
  await other.post('/auth/logout') // revokes the session upstream
  const res = await browser.get('/auth/session')
  t.equal(res.statusCode, 401)
  t.equal(res.json().error_type, 'session_invalid')
  const expired = setCookies(res)
  for (const name of ALL.slice(0, 3)) {
    const c = expired.find((x) => x.name === name)
    t.ok(c, `${name} expired`)
    t.equal(c!.attributes['max-age'], '0')
    t.equal(c!.attributes.secure, true, 'Secure repeated, or the browser keeps a __Host- cookie')
    t.equal(c!.attributes.path, '/')
    t.equal(c!.attributes.httponly, true)
  }
  t.equal(browser.cookies.size, 0)
})

t.test('POST /auth/logout revokes upstream, expires every cookie, 204', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const browser = new Browser(app)
  await browser.post(LOGIN, demoLogin)
  const token = browser.cookies.get('__Host-stytch_session')
  // as fetch('/auth/logout', {method: 'POST', headers: {'X-CSRF': '1'}}) sends it: no body, no content type
  const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1', cookie: browser.cookieHeader()! } })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  const expired = setCookies(res)
  t.same(expired.map((c) => c.name).sort(), [...ALL].sort(), 'PKCE included')
  for (const c of expired) {
    t.equal(c.value, '')
    t.equal(c.attributes['max-age'], '0')
    t.equal(c.attributes.secure, true)
    t.equal(c.attributes.path, '/')
    t.equal(c.attributes.samesite, 'Strict')
  }
  const revoke = emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/sessions/revoke').at(-1)
  t.same(revoke?.body, { session_token: token })
  const after = await app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: browser.cookieHeader()! } })
  t.equal(after.statusCode, 401, 'the revoked session is gone upstream too')
  t.equal(after.json().error_type, 'session_invalid')
})

t.test('logout accepts an empty body or {}, refuses anything else, and needs the CSRF header', async (t) => {
  const { app } = await buildTestApp(t)
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1' } })).statusCode, 204, 'no body, no content type')
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1', 'content-type': 'application/json' }, payload: '' })).statusCode, 204, 'empty JSON body')
  t.equal((await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1', 'content-type': 'application/json' }, payload: '{}' })).statusCode, 204)
  const extra = await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1', 'content-type': 'application/json' }, payload: '{"session_token":"x"}' })
  t.equal(extra.statusCode, 400)
  const noCsrf = await app.inject({ method: 'POST', url: '/auth/logout' })
  t.equal(noCsrf.statusCode, 403)
  t.equal(noCsrf.json().error_type, 'csrf_failed')
  t.same(setCookies(noCsrf), [], 'a cross-site page cannot log the user out')
})

t.test('logout expires cookies whatever upstream says', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  const { app, logs } = await buildTestApp(t, { STYTCH_API_URL: fake.url })
  for (const respond of [
    (res: import('node:http').ServerResponse) => json(res, 500, { error_type: 'internal_server_error' }),
    (res: import('node:http').ServerResponse) => json(res, 404, { status_code: 404, error_type: 'session_not_found', error_message: 'x' })
  ]) {
    fake.handler = (_req, res) => respond(res)
    const res = await app.inject({ method: 'POST', url: '/auth/logout', headers: { 'x-csrf': '1', cookie: '__Host-stytch_session=tok-1' } })
    t.equal(res.statusCode, 204)
    t.equal(setCookies(res).length, 4)
  }
  t.ok(logs.some((l) => /revoke failed/.test(l)), 'the failed revoke is logged')
  t.notOk(logs.some((l) => l.includes('tok-1')), 'without the token')
})

t.test('an upstream outage on GET /auth/session is 502 and keeps the cookies', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  const { app } = await buildTestApp(t, { STYTCH_API_URL: fake.url })
  fake.handler = (_req, res) => json(res, 503, {})
  const res = await app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: '__Host-stytch_session=tok-1' } })
  t.equal(res.statusCode, 502)
  t.equal(res.json().error_type, 'upstream_unavailable')
  t.same(setCookies(res), [])
})

t.test('GET /auth/verify and GET /auth/session agree on the same cookies', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const [SESSION, JWT, IST, PKCE] = ALL as [string, string, string, string]
  const authenticateCalls = () => emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/sessions/authenticate')
  const login = async (ageMs = 0) => {
    const browser = new Browser(app)
    emulator.emulator.clock.advance(-ageMs) // a JWT issued ageMs ago
    await browser.post(LOGIN, demoLogin)
    emulator.emulator.clock.advance(ageMs)
    return browser
  }
  const revoke = async (browser: Browser) => {
    const other = new Browser(app)
    for (const [k, v] of browser.cookies) other.cookies.set(k, v)
    t.equal((await other.post('/auth/logout')).statusCode, 204)
  }
  const both = async (cookie: string) => Promise.all(['/auth/verify', '/auth/session'].map(async (url) => {
    const before = authenticateCalls().length
    const res = await app.inject({ method: 'GET', url, headers: { cookie } })
    return { url, res, upstream: authenticateCalls().slice(before).map((r) => r.body) }
  }))

  // a JWT-only browser whose JWT is older than JWT_MAX_AGE_SECONDS, session alive: refreshed by both
  const stale = await login(120_000)
  const staleJwt = stale.cookies.get(JWT)!
  for (const { url, res, upstream } of await both(`${JWT}=${staleJwt}`)) {
    t.equal(res.statusCode, 200, `${url}: refreshed`)
    const jwt = setCookies(res).find((c) => c.name === JWT)
    t.ok(jwt?.value && jwt.value !== staleJwt, `${url}: a new JWT cookie`)
    t.same(upstream, [{ session_jwt: staleJwt, session_duration_minutes: 60 }], `${url}: the JWT itself went to Stytch, once`)
  }

  // the same browser once its session is revoked: refused by both, all three session cookies expired
  const revoked = await login(120_000)
  await revoke(revoked)
  const revokedJwt = revoked.cookies.get(JWT)!
  for (const { url, res, upstream } of await both(`${JWT}=${revokedJwt}; ${IST}=ist-left-over; ${PKCE}=reset-in-progress`)) {
    t.equal(res.statusCode, 401, `${url}: refused`)
    t.equal(res.json().error_type, 'session_invalid')
    t.equal(upstream.length, 1, `${url}: Stytch said so`)
    const expired = setCookies(res)
    t.same(expired.map((c) => c.name).sort(), [SESSION, JWT, IST].sort(), `${url}: session, JWT and IST cookies expired; the PKCE cookie stays`)
    for (const c of expired) t.match(c, { value: '', attributes: { 'max-age': '0', secure: true, httponly: true, path: '/', samesite: 'Strict' } })
  }

  // a JWT with a bad signature under the project's key, alone: refused by both without asking Stytch
  const forged = staleJwt.slice(0, staleJwt.lastIndexOf('.') + 1) + Buffer.alloc(256, 7).toString('base64url')
  for (const { url, res, upstream } of await both(`${JWT}=${forged}`)) {
    t.equal(res.statusCode, 401, `${url}: forged JWT refused`)
    t.equal(res.json().error_type, 'session_invalid')
    t.same(upstream, [], `${url}: no upstream call`)
    t.same(setCookies(res).map((c) => c.name).sort(), [SESSION, JWT, IST].sort())
  }

  // an opaque token Stytch rejects, beside a forged JWT: refused by both, all three expired
  for (const { url, res } of await both(`${JWT}=${forged}; ${SESSION}=not-a-session; ${IST}=x; ${PKCE}=y`)) {
    t.equal(res.statusCode, 401, url)
    t.same(setCookies(res).map((c) => c.name).sort(), [SESSION, JWT, IST].sort(), `${url}: PKCE kept`)
  }
})

t.test('methods a route does not serve answer 405 with Allow, before the Origin and CSRF guards', async (t) => {
  const { app, emulator } = await buildTestApp(t, { ALLOWED_ORIGINS: 'https://app.example.com' })
  const hostile = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }
  for (const [method, url, allow] of [
    ['POST', '/auth/verify', 'GET'],
    ['PUT', '/auth/verify', 'GET'],
    ['POST', '/auth/session', 'GET'],
    ['DELETE', '/auth/session', 'GET'],
    ['GET', '/auth/logout', 'POST'],
    ['PUT', '/auth/logout', 'POST']
  ] as const) {
    for (const headers of [{}, hostile]) {
      const res = await app.inject({ method, url, headers })
      t.equal(res.statusCode, 405, `${method} ${url}`)
      t.equal(res.headers.allow, allow)
      t.match(res.json(), { status_code: 405, error_type: 'method_not_allowed', request_id: res.headers['x-request-id'] })
    }
  }
  const csrf = await app.inject({ method: 'POST', url: '/auth/logout' })
  t.equal(csrf.json().error_type, 'csrf_failed', 'a served method still needs the CSRF header')
  const origin = await app.inject({ method: 'GET', url: '/auth/session', headers: hostile })
  t.equal(origin.json().error_type, 'origin_not_allowed', 'and the Origin check')
  t.equal(emulator.emulator.count(), 0, 'nothing reached Stytch')
})
