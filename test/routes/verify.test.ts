import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose'
import t, { type Test } from 'tap'
import { json, startFakeUpstream } from '../fake-upstream.js'
import { Browser, buildTestApp, DEMO, setCookies, type ParsedCookie } from '../helper.js'

// GET /auth/verify as a gateway calls it: the browser's cookies in, 200 + identity headers or 401 out.

const LOGIN = '/auth/b2b/passwords/authenticate'
const demoLogin = { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password }
const SESSION = '__Host-stytch_session'
const JWT = '__Host-stytch_session_jwt'
const IST = '__Host-stytch_intermediate_session'
const PKCE = '__Host-stytch_pkce'
const COPIES = ['x-set-cookie-jwt', 'x-set-cookie-session', 'x-set-cookie-intermediate-session']
const AUTHENTICATE = '/v1/b2b/sessions/authenticate'
const JWKS = '/v1/b2b/sessions/jwks/'

interface MemberSession { member_session_id: string; member_id: string; organization_id: string; roles: string[] }

async function loggedIn (t: Test, env: Record<string, string> = {}, clockOffsetMs = 0) {
  const built = await buildTestApp(t, env)
  const browser = new Browser(built.app)
  built.emulator.emulator.clock.advance(clockOffsetMs) // a JWT issued in the past: iat/exp follow the emulator clock
  const login = await browser.post(LOGIN, demoLogin)
  built.emulator.emulator.clock.advance(-clockOffsetMs)
  t.equal(login.statusCode, 200, 'logged in')
  const session = login.json().member_session as MemberSession
  return { ...built, browser, session }
}

const cookie = (res: { headers: Record<string, unknown> }, name: string): ParsedCookie | undefined =>
  setCookies(res as Parameters<typeof setCookies>[0]).find((c) => c.name === name)

t.test('no cookies: 401 session_missing in the envelope, no upstream call', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/auth/verify' })
  t.equal(res.statusCode, 401)
  t.match(res.json(), { status_code: 401, error_type: 'session_missing', request_id: res.headers['x-request-id'] })
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(setCookies(res), [])
  t.equal(emulator.emulator.count(), 0)
})

t.test('a fresh JWT is verified locally: identity headers and zero upstream calls', async (t) => {
  const { browser, emulator, session, logs } = await loggedIn(t)
  const before = emulator.emulator.count()
  for (let i = 0; i < 20; i++) {
    const res = await browser.get('/auth/verify')
    t.equal(res.statusCode, 200)
    t.equal(res.headers['x-stytch-session-id'], session.member_session_id)
    t.equal(res.headers['x-stytch-member-id'], session.member_id)
    t.equal(res.headers['x-stytch-organization-id'], session.organization_id)
    t.equal(res.headers['x-stytch-roles'], session.roles.join(','))
    t.equal(res.headers['x-stytch-user-id'], undefined, 'no consumer header on B2B')
    t.equal(res.body, '')
    t.same(setCookies(res), [], 'nothing to refresh')
    t.equal(res.headers['cache-control'], 'no-store')
  }
  t.equal(emulator.emulator.count(AUTHENTICATE), 0, 'no sessions/authenticate')
  t.equal(emulator.emulator.count(JWKS), 1, 'the JWKS fetched once and cached')
  t.equal(emulator.emulator.count() - before, 1, 'nothing else reached Stytch')
  t.notOk(logs.some((l) => l.includes(browser.cookies.get(JWT)!)), 'the JWT is never logged')
})

t.test('verify skips the CSRF guard: a gateway forwards the browser\'s Origin and Sec-Fetch-Site', async (t) => {
  const { browser } = await loggedIn(t)
  const res = await browser.get('/auth/verify', { origin: 'https://elsewhere.example', 'sec-fetch-site': 'cross-site' })
  t.equal(res.statusCode, 200)
})

t.test('verify answers the gateway, not a browser: request id, no-store and nosniff, no CORS or helmet headers', async (t) => {
  const allowedOrigin = 'https://app.example.com'
  const { browser } = await loggedIn(t, { ALLOWED_ORIGINS: allowedOrigin })
  const res = await browser.get('/auth/verify', { origin: allowedOrigin, 'x-request-id': 'gw-123' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-request-id'], 'gw-123')
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  for (const name of ['access-control-allow-origin', 'access-control-allow-credentials', 'vary', 'content-security-policy', 'strict-transport-security', 'cross-origin-resource-policy']) {
    t.equal(res.headers[name], undefined, `no ${name}`)
  }
  // the browser's own routes keep them
  const session = await browser.get('/auth/session', { origin: allowedOrigin })
  t.equal(session.headers['access-control-allow-origin'], allowedOrigin)
  t.match(session.headers['content-security-policy'], /default-src 'self'/)
})

t.test('a JWT older than JWT_MAX_AGE_SECONDS is refreshed once with the opaque token; the new JWT is then local', async (t) => {
  const { browser, emulator, session } = await loggedIn(t, {}, -120_000)
  const stale = browser.cookies.get(JWT)
  const res = await browser.get('/auth/verify')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-stytch-member-id'], session.member_id)
  t.equal(res.headers['x-stytch-roles'], session.roles.join(','))
  t.equal(emulator.emulator.count(AUTHENTICATE), 1, 'one upstream call')
  const upstream = emulator.emulator.requests.filter((r) => r.path === AUTHENTICATE)
  t.same(upstream[0]?.body, { session_token: browser.cookies.get(SESSION), session_duration_minutes: 60 }, 'the opaque token, never the JWT')
  const jwt = cookie(res, JWT)
  t.ok(jwt, 'a new JWT cookie')
  t.not(jwt!.value, stale)
  t.equal(decodeJwt(jwt!.value).iat! * 1000 > Date.now() - 5000, true, 'issued now')
  t.match(jwt!.attributes, { httponly: true, secure: true, path: '/', samesite: 'Strict', 'max-age': /^\d+$/ })
  t.ok(Number(jwt!.attributes['max-age']) > 3500, 'lives as long as the session')
  t.equal((res.headers['set-cookie'] as string[])[0]?.startsWith(`${JWT}=`), true, 'the JWT cookie comes first')
  for (const name of COPIES) t.equal(res.headers[name], undefined, `no ${name} by default: tokens leave only in Set-Cookie`)

  for (let i = 0; i < 5; i++) t.equal((await browser.get('/auth/verify')).statusCode, 200)
  t.equal(emulator.emulator.count(AUTHENTICATE), 1, 'the refreshed JWT is verified locally')
})

t.test('an expired JWT is refreshed upstream', async (t) => {
  const { browser, emulator } = await loggedIn(t, { JWT_MAX_AGE_SECONDS: '300' }, -10 * 60_000)
  t.ok(decodeJwt(browser.cookies.get(JWT)!).exp! * 1000 < Date.now(), 'the JWT has expired')
  const res = await browser.get('/auth/verify')
  t.equal(res.statusCode, 200)
  t.equal(emulator.emulator.count(AUTHENTICATE), 1)
  t.ok(cookie(res, JWT)?.value, 'new JWT cookie')
})

t.test('sliding sessions: a verify refresh extends the session and re-issues the session cookie', async (t) => {
  const { browser, emulator } = await loggedIn(t, { SESSION_DURATION_MINUTES: '90' }, -120_000)
  const res = await browser.get('/auth/verify')
  t.equal(res.statusCode, 200)
  t.match(emulator.emulator.requests.find((r) => r.path === AUTHENTICATE)?.body, { session_duration_minutes: 90 })
  const session = cookie(res, SESSION)
  t.ok(session, 'session cookie re-issued')
  t.equal(session!.value, browser.cookies.get(SESSION), 'same opaque token')
  t.ok(Number(session!.attributes['max-age']) > 89 * 60, 'with the extended Max-Age')
  t.match(session!.attributes, { httponly: true, secure: true, path: '/', samesite: 'Strict' })
  t.same(setCookies(res).map((c) => c.name), [JWT, SESSION], 'JWT first, no IST change')
  t.equal(res.headers['x-set-cookie-session'], undefined)
})

t.test('SESSION_SLIDING=false: no session_duration_minutes upstream, only the JWT cookie re-issued', async (t) => {
  const { browser, emulator } = await loggedIn(t, { SESSION_SLIDING: 'false' }, -120_000)
  const res = await browser.get('/auth/verify')
  t.equal(res.statusCode, 200)
  t.same(emulator.emulator.requests.find((r) => r.path === AUTHENTICATE)?.body, { session_token: browser.cookies.get(SESSION) })
  t.same(setCookies(res).map((c) => c.name), [JWT])
  t.equal(res.headers['x-set-cookie-session'], undefined)
})

t.test('a revoked session stops passing within JWT_MAX_AGE_SECONDS, then its cookies are expired', async (t) => {
  const { app, browser, emulator } = await loggedIn(t, { JWT_MAX_AGE_SECONDS: '2' })
  t.equal((await browser.get('/auth/verify')).statusCode, 200)
  const other = new Browser(app)
  for (const [k, v] of browser.cookies) other.cookies.set(k, v)
  t.equal((await other.post('/auth/logout')).statusCode, 204, 'revoked upstream elsewhere')
  t.equal((await browser.get('/auth/verify')).statusCode, 200, 'still trusted locally while the JWT is young: the documented window')
  await new Promise((resolve) => setTimeout(resolve, 2100))
  const res = await browser.get('/auth/verify')
  t.equal(res.statusCode, 401)
  t.equal(res.json().error_type, 'session_invalid')
  t.equal(emulator.emulator.count(AUTHENTICATE), 1, 'one upstream call told us')
  for (const name of [SESSION, JWT, IST]) {
    t.match(cookie(res, name), { value: '', attributes: { 'max-age': '0', secure: true, httponly: true, path: '/', samesite: 'Strict' } }, `${name} expired`)
  }
  t.equal(cookie(res, PKCE), undefined, 'the PKCE cookie is not touched: a reset in progress is not a session')
  t.equal(res.headers['x-set-cookie-jwt'], undefined)
  t.equal(browser.cookies.size, 0)
  const again = await browser.get('/auth/verify')
  t.equal(again.json().error_type, 'session_missing')
})

t.test('a forged JWT (own key, right claims) is not accepted locally', async (t) => {
  const { app, browser, emulator } = await loggedIn(t)
  const real = browser.cookies.get(JWT)!
  const { privateKey } = await generateKeyPair('RS256')
  const { kid } = decodeProtectedHeader(real)
  const forged = await new SignJWT(decodeJwt(real)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: kid! }).sign(privateKey)
  const otherKid = await new SignJWT(decodeJwt(real)).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'jwk-test-attacker' }).sign(privateKey)

  for (const token of [forged, otherKid]) {
    const alone = await app.inject({ method: 'GET', url: '/auth/verify', headers: { cookie: `${JWT}=${token}` } })
    t.equal(alone.statusCode, 401, 'no opaque token: 401')
    t.equal(alone.json().error_type, 'session_invalid')
    t.equal(cookie(alone, JWT)?.attributes['max-age'], '0', 'the forged cookie is expired')
    t.equal(alone.headers['x-stytch-member-id'], undefined)
    if (token === forged) t.equal(emulator.emulator.count(AUTHENTICATE), 0, 'a bad signature under a known key never reaches Stytch')
  }
  t.same(emulator.emulator.requests.filter((r) => r.path === AUTHENTICATE).map((r) => r.body), [{ session_jwt: otherKid, session_duration_minutes: 60 }],
    'an unknown kid may be a new key: Stytch is asked once, and refuses')
  t.equal(emulator.emulator.count(JWKS), 1, 'the unknown kid did not re-fetch the JWKS within 30 s of the first fetch')

  const withToken = await app.inject({ method: 'GET', url: '/auth/verify', headers: { cookie: `${JWT}=${forged}; ${SESSION}=${browser.cookies.get(SESSION)}` } })
  t.equal(withToken.statusCode, 200, 'with a valid opaque token the session is checked upstream')
  t.equal(emulator.emulator.count(AUTHENTICATE), 2)
  t.not(cookie(withToken, JWT)?.value, forged, 'and the forged JWT replaced')

  const badToken = await app.inject({ method: 'GET', url: '/auth/verify', headers: { cookie: `${JWT}=${forged}; ${SESSION}=not-a-session` } })
  t.equal(badToken.statusCode, 401)
  t.equal(badToken.json().error_type, 'session_invalid')
})

t.test('alg none and HS256 tokens are refused before any key lookup', async (t) => {
  const { app, browser, emulator } = await loggedIn(t)
  const claims = decodeJwt(browser.cookies.get(JWT)!)
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`
  const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(Buffer.from(emulator.emulator.projectId))
  for (const token of [none, hs256, 'not-a-jwt', `${b64({ alg: 'RS256' })}.${b64(claims)}.AAAA`]) {
    const res = await app.inject({ method: 'GET', url: '/auth/verify', headers: { cookie: `${JWT}=${token}` } })
    t.equal(res.statusCode, 401)
    t.equal(res.json().error_type, 'session_invalid')
  }
  t.equal(emulator.emulator.count(AUTHENTICATE), 0)
})

t.test('key rotation: a JWT signed by a new key is still accepted (upstream until the JWKS may be re-fetched)', async (t) => {
  const { app, browser, emulator, session } = await loggedIn(t)
  t.equal((await browser.get('/auth/verify')).statusCode, 200)
  t.equal(emulator.emulator.count(JWKS), 1)
  await emulator.emulator.rotateKeys()
  const second = new Browser(app)
  await second.post(LOGIN, demoLogin)
  const res = await second.get('/auth/verify')
  t.equal(res.statusCode, 200, 'the new kid is unknown locally, the opaque token vouches for the session')
  t.equal(emulator.emulator.count(AUTHENTICATE), 1)
  t.equal(emulator.emulator.count(JWKS), 1, 'no JWKS re-fetch within 30 s of the last one')
  t.equal((await browser.get('/auth/verify')).headers['x-stytch-member-id'], session.member_id, 'old-key JWTs still verify locally')
  t.equal(emulator.emulator.count(AUTHENTICATE), 1)
})

t.test('50 parallel verifies with one stale JWT make exactly one upstream call', async (t) => {
  const { app, browser, emulator, session } = await loggedIn(t, {}, -120_000)
  const headers = { cookie: browser.cookieHeader()! }
  const answers = await Promise.all(Array.from({ length: 50 }, () => app.inject({ method: 'GET', url: '/auth/verify', headers })))
  t.same([...new Set(answers.map((r) => r.statusCode))], [200])
  t.ok(answers.every((r) => r.headers['x-stytch-member-id'] === session.member_id))
  t.equal(emulator.emulator.count(AUTHENTICATE), 1, 'one sessions/authenticate for 50 requests')
  t.equal(new Set(answers.map((r) => cookie(r, JWT)?.value)).size, 1, 'every answer carries the same new JWT')
})

t.test('consumer vertical: X-Stytch-User-Id, no member or organization header', async (t) => {
  const built = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer' })
  const { app, emulator } = built
  const browser = new Browser(app)
  emulator.emulator.clock.advance(-120_000)
  const login = await browser.post('/auth/passwords/authenticate', { email: DEMO.email, password: DEMO.password })
  emulator.emulator.clock.advance(120_000)
  t.equal(login.statusCode, 200)
  const session = login.json().session as { session_id: string; user_id: string; roles: string[] }

  const refreshed = await browser.get('/auth/verify')
  t.equal(refreshed.statusCode, 200, 'stale JWT refreshed')
  t.equal(emulator.emulator.count('/v1/sessions/authenticate'), 1)
  const local = await browser.get('/auth/verify')
  t.equal(emulator.emulator.count('/v1/sessions/authenticate'), 1, 'then verified locally')
  t.equal(emulator.emulator.count('/v1/sessions/jwks/'), 1)
  for (const res of [refreshed, local]) {
    t.equal(res.headers['x-stytch-session-id'], session.session_id)
    t.equal(res.headers['x-stytch-user-id'], session.user_id)
    t.equal(res.headers['x-stytch-roles'], session.roles.join(','))
    t.equal(res.headers['x-stytch-member-id'], undefined)
    t.equal(res.headers['x-stytch-organization-id'], undefined)
  }
})

t.test('duplicate session cookies: 401 session_invalid, not a 400 a gateway would turn into a 500', async (t) => {
  const { app } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/auth/verify', headers: { cookie: `${SESSION}=a; ${SESSION}=b` } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().error_type, 'session_invalid')
})

t.test('upstream failures during a refresh are 502 / 504 and keep the cookies', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  const { app, logs } = await buildTestApp(t, { STYTCH_API_URL: fake.url, UPSTREAM_TIMEOUT_MS: '200' })
  const headers = { cookie: `${SESSION}=tok-1` }

  fake.handler = (_req, res) => json(res, 500, { error_type: 'internal_server_error' })
  const unavailable = await app.inject({ method: 'GET', url: '/auth/verify', headers })
  t.equal(unavailable.statusCode, 502)
  t.equal(unavailable.json().error_type, 'upstream_unavailable')
  t.same(setCookies(unavailable), [])

  fake.handler = () => {} // never answers
  const timeout = await app.inject({ method: 'GET', url: '/auth/verify', headers })
  t.equal(timeout.statusCode, 504)
  t.equal(timeout.json().error_type, 'upstream_timeout')
  t.same(setCookies(timeout), [])

  fake.handler = (_req, res) => json(res, 200, { status_code: 200, request_id: 'r', session_jwt: 'x', member_session: { member_id: 'm' } })
  const incomplete = await app.inject({ method: 'GET', url: '/auth/verify', headers })
  t.equal(incomplete.statusCode, 502, 'an answer without the session identity')
  t.equal(incomplete.json().error_type, 'upstream_invalid_response')
  t.notOk(logs.some((l) => l.includes('tok-1')), 'the token is never logged')
})

t.test('Envoy ext_authz style: original method and path appended to /auth/verify, no body', async (t) => {
  const { app, browser, emulator, session } = await loggedIn(t)
  const cookie = browser.cookieHeader()!
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: '/auth/verify/api/orders/7?expand=1', headers: { cookie, 'content-length': '0', origin: 'https://elsewhere.example' } })
    t.equal(res.statusCode, 200, `${method} /auth/verify/api/orders/7`)
    t.equal(res.headers['x-stytch-member-id'], session.member_id)
  }
  const denied = await app.inject({ method: 'POST', url: '/auth/verify/api/orders', headers: { 'content-length': '0' } })
  t.equal(denied.statusCode, 401)
  t.equal(denied.json().error_type, 'session_missing')
  t.equal(emulator.emulator.count(AUTHENTICATE), 0)
})

t.test('key rotation seen from outside: a JWT-only browser on the new key passes at once, and verifies locally from 30 s after the last JWKS fetch', async (t) => {
  // one frozen clock for the BFF and the emulator, moved by hand: no real waiting, no drift
  const start = Date.now()
  let offset = 0
  const built = await buildTestApp(t, { JWT_MAX_AGE_SECONDS: '300' }, { now: () => start + offset })
  const { app, emulator } = built
  const tick = (ms: number) => { offset += ms }
  const old = new Browser(app)
  t.equal((await old.post(LOGIN, demoLogin)).statusCode, 200)
  t.equal((await old.get('/auth/verify')).statusCode, 200, 'first verify: the JWKS is fetched')
  t.equal(emulator.emulator.count(JWKS), 1)

  tick(5_000)
  await emulator.emulator.rotateKeys()
  const fresh = new Browser(app)
  const login = await fresh.post(LOGIN, demoLogin)
  const member = login.json().member_session as MemberSession
  const jwt = fresh.cookies.get(JWT)!
  t.not(decodeProtectedHeader(jwt).kid, decodeProtectedHeader(old.cookies.get(JWT)!).kid, 'signed with the new key')

  const seen: Array<{ second: number; status: number; member: unknown; jwks: number; upstream: number }> = []
  for (let second = 5; second <= 50; second++) {
    const res = await app.inject({ method: 'GET', url: '/auth/verify', headers: { cookie: `${JWT}=${jwt}` } })
    seen.push({ second, status: res.statusCode, member: res.headers['x-stytch-member-id'], jwks: emulator.emulator.count(JWKS), upstream: emulator.emulator.count(AUTHENTICATE) })
    tick(1_000)
  }
  t.same([...new Set(seen.map((s) => s.status))], [200], 'every attempt passes: Stytch vouches for the unknown kid until the JWKS may be re-fetched')
  t.ok(seen.every((s) => s.member === member.member_id), 'as the member who logged in')
  t.same(seen.filter((s) => s.second < 30).map((s) => s.jwks), Array(25).fill(1), 'no JWKS fetch within 30 s of the last one')
  t.same(seen.filter((s) => s.second >= 30).map((s) => s.jwks), Array(21).fill(2), 'exactly one re-fetch, 30 s after the last fetch, then none')
  const local = seen.filter((s) => s.second >= 30).map((s) => s.upstream)
  t.same(new Set(local).size, 1, 'from 30 s on the new-key JWT is verified locally: no more upstream calls')
  t.equal(local[0], 25, 'one sessions/authenticate per attempt before that (seconds 5 to 29), none for the logins')
})
