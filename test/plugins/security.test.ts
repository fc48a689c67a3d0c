import t from 'tap'
import { buildTestApp, DEMO } from '../helper.js'

const LOGIN = '/auth/b2b/passwords/authenticate'
const body = JSON.stringify({ organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })
const json = { 'content-type': 'application/json', 'x-csrf': '1' }

const { app, emulator } = await buildTestApp(t, { ALLOWED_ORIGINS: 'https://app.example.com', BODY_LIMIT_BYTES: '1024' })
const post = (headers: Record<string, string>, payload: string = body, url = LOGIN) => app.inject({ method: 'POST', url, headers, payload })

t.test('every POST needs the CSRF header with the value 1 (login CSRF too)', async (t) => {
  const refused: Array<Record<string, string>> = [{ 'content-type': 'application/json' }, { 'content-type': 'application/json', 'x-csrf': '0' }]
  for (const headers of refused) {
    const res = await post(headers)
    t.equal(res.statusCode, 403)
    t.equal(res.json().error_type, 'csrf_failed')
  }
  t.equal((await post(json)).statusCode, 200)
})

t.test('CSRF refusals say what to send', async (t) => {
  const missing = await post({ 'content-type': 'application/json' })
  t.equal(missing.json().error_message, 'Missing the X-CSRF header: send X-CSRF: 1 with every POST')
  for (const value of ['0', 'true', '1 ', 'yes']) {
    const wrong = await post({ 'content-type': 'application/json', 'x-csrf': value })
    t.equal(wrong.statusCode, 403, `X-CSRF: ${value}`)
    t.equal(wrong.json().error_message, 'The X-CSRF header must be exactly 1 (send X-CSRF: 1)', `X-CSRF: ${value}`)
  }
  const custom = await buildTestApp(t, { CSRF_HEADER: 'X-Requested-By' })
  const res = await custom.app.inject({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/json', 'x-requested-by': 'fetch' }, payload: body })
  t.equal(res.json().error_message, 'The X-Requested-By header must be exactly 1 (send X-Requested-By: 1)', 'names the configured header')
})

t.test('CSRF_HEADER names the header', async (t) => {
  const custom = await buildTestApp(t, { CSRF_HEADER: 'X-Requested-By' })
  const res = await custom.app.inject({ method: 'POST', url: LOGIN, headers: { 'content-type': 'application/json', 'x-requested-by': '1' }, payload: body })
  t.equal(res.statusCode, 200)
  const refused = await custom.app.inject({ method: 'POST', url: LOGIN, headers: json, payload: body })
  t.equal(refused.json().error_type, 'csrf_failed')
})

t.test('an Origin outside ALLOWED_ORIGINS is 403 origin_not_allowed, checked first', async (t) => {
  const res = await post({ origin: 'https://evil.example' })
  t.equal(res.statusCode, 403)
  t.equal(res.json().error_type, 'origin_not_allowed')
  const get = await app.inject({ method: 'GET', url: '/auth/session', headers: { origin: 'https://evil.example' } })
  t.equal(get.json().error_type, 'origin_not_allowed', 'reads too')
  t.equal(res.json().error_message, 'Origin "https://evil.example" is not allowed: add it to ALLOWED_ORIGINS (comma-separated exact origins) or call from the service\'s own origin',
    'names ALLOWED_ORIGINS and the origin received')
  const odd = await post({ origin: 'https://x.example\u00e9' + 'a'.repeat(300) })
  const message = odd.json().error_message as string
  t.ok(message.startsWith('Origin "https://x.example?' + 'a'.repeat(82) + '..." is not allowed'), 'a long or non-ASCII origin is quoted shortened and printable')
  t.equal((await post({ ...json, origin: 'https://app.example.com' })).statusCode, 200, 'allowed origin')
  t.equal((await post({ ...json, origin: 'http://localhost:80', host: 'localhost:80' })).statusCode, 200, 'same origin is always allowed')
})

t.test('Sec-Fetch-Site: cross-site without an allowed Origin is 403 csrf_failed', async (t) => {
  const res = await post({ ...json, 'sec-fetch-site': 'cross-site' })
  t.equal(res.statusCode, 403)
  t.equal(res.json().error_type, 'csrf_failed')
  t.equal((await post({ ...json, 'sec-fetch-site': 'same-origin' })).statusCode, 200)
  t.equal((await post({ ...json, 'sec-fetch-site': 'cross-site', origin: 'https://app.example.com' })).statusCode, 200)
})

t.test('JSON only: other or missing content types are 415, after the CSRF checks', async (t) => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
    const res = await post({ 'content-type': type, 'x-csrf': '1' })
    t.equal(res.statusCode, 415, type)
    t.equal(res.json().error_type, 'unsupported_media_type', type)
  }
  const none = await post({ 'x-csrf': '1' })
  t.equal(none.statusCode, 415, 'no content type')
  t.equal((await post({ 'content-type': 'application/json; charset=utf-8', 'x-csrf': '1' })).statusCode, 200, 'charset parameter is fine')
  t.equal((await post({ 'content-type': 'text/plain' })).json().error_type, 'csrf_failed', 'CSRF before content type')
})

t.test('bodies over BODY_LIMIT_BYTES are 413 payload_too_large, before schema checks', async (t) => {
  const res = await post(json, JSON.stringify({ junk: 'x'.repeat(2000) }))
  t.equal(res.statusCode, 413)
  t.equal(res.json().error_type, 'payload_too_large')
})

t.test('hostile JSON gets a 4xx in the envelope, never a 500', async (t) => {
  const nested = '['.repeat(400) + ']'.repeat(400)
  const cases: Array<[string, string]> = [
    ['malformed', '{"organization_id": '],
    ['empty', ''],
    ['__proto__', '{"__proto__": {"admin": true}, "organization_id": "x", "email_address": "a", "password": "p"}'],
    ['constructor.prototype', '{"constructor": {"prototype": {"admin": true}}}'],
    ['deep nesting', `{"organization_id": ${nested}, "email_address": "a", "password": "p"}`],
    ['array body', '[1,2,3]'],
    ['null body', 'null'],
    ['string body', '"hello"'],
    ['wrong types', '{"organization_id": 1, "email_address": ["a"], "password": {"x": 1}}']
  ]
  for (const [name, payload] of cases) {
    const res = await post(json, payload)
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().error_type, 'invalid_request', name)
    t.equal(res.json().status_code, res.statusCode, name)
    t.notMatch(res.body, /at .*\.(js|ts):\d+|SyntaxError|FST_/, `${name}: nothing internal`)
  }
})

t.test('a duplicate cookie of ours is a 400, not a guess', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: '__Host-stytch_session=a; other=1; __Host-stytch_session=b' } })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error_type, 'invalid_request')
})

t.test('X-Request-Id: the gateway\'s when well-formed, else generated, on every response', async (t) => {
  const given = await app.inject({ method: 'GET', url: '/auth/session', headers: { 'x-request-id': 'abc-123.x:y_z' } })
  t.equal(given.headers['x-request-id'], 'abc-123.x:y_z')
  t.equal(given.json().request_id, 'abc-123.x:y_z')
  for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '<script>']) {
    const res = await app.inject({ method: 'GET', url: '/auth/session', headers: { 'x-request-id': bad } })
    t.not(res.headers['x-request-id'], bad)
    t.match(res.headers['x-request-id'], /^[A-Za-z0-9._:-]{1,128}$/)
  }
  const notFound = await app.inject({ method: 'GET', url: '/nope' })
  t.ok(notFound.headers['x-request-id'])
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.ok(health.headers['x-request-id'])
})

t.test('no-store and nosniff on every response under the prefix, preflights and errors included', async (t) => {
  const responses = [
    await post(json),
    await post({}),
    await app.inject({ method: 'GET', url: '/auth/session' }),
    await app.inject({ method: 'GET', url: '/auth/nope' }),
    await app.inject({ method: 'OPTIONS', url: LOGIN, headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } }),
    await app.inject({ method: 'OPTIONS', url: LOGIN, headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
  ]
  for (const res of responses) {
    t.equal(res.headers['cache-control'], 'no-store', `${res.statusCode}`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${res.statusCode}`)
  }
})

t.test('CORS: only ALLOWED_ORIGINS, with credentials, never *', async (t) => {
  const ok = await app.inject({ method: 'OPTIONS', url: LOGIN, headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-csrf' } })
  t.ok(ok.statusCode < 300)
  t.equal(ok.headers['access-control-allow-origin'], 'https://app.example.com')
  t.equal(ok.headers['access-control-allow-credentials'], 'true')
  t.match(String(ok.headers['access-control-allow-headers']).toLowerCase(), /x-csrf/)
  const evil = await app.inject({ method: 'OPTIONS', url: LOGIN, headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
  t.notOk(evil.headers['access-control-allow-origin'])
  const anyRes = await post({ ...json, origin: 'https://app.example.com' })
  t.equal(anyRes.headers['access-control-allow-origin'], 'https://app.example.com')
  t.not(anyRes.headers['access-control-allow-origin'], '*')
})

t.test('helmet headers are present', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.match(res.headers['content-security-policy'], /default-src 'self'/)
  t.ok(res.headers['strict-transport-security'])
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN')
})

t.test('unknown routes are 404 not_found, wrong methods 405 method_not_allowed', async (t) => {
  const missing = await app.inject({ method: 'GET', url: '/auth/b2b/passwords/migrate' })
  t.equal(missing.statusCode, 404)
  t.same(Object.keys(missing.json()).sort(), ['error_message', 'error_type', 'request_id', 'status_code'])
  t.equal(missing.json().error_type, 'not_found')
  const wrong = await app.inject({ method: 'GET', url: LOGIN })
  t.equal(wrong.statusCode, 405)
  t.equal(wrong.json().error_type, 'method_not_allowed')
  t.equal(wrong.headers.allow, 'POST')
  const migrate = await post(json, '{}', '/auth/b2b/passwords/migrate')
  t.equal(migrate.statusCode, 404, 'server-to-server endpoints are not exposed')
})

t.test('a route of the other vertical is 404 not_found naming STYTCH_VERTICAL', async (t) => {
  const consumerLogin = await post(json, JSON.stringify({ email: DEMO.email, password: DEMO.password }), '/auth/passwords/authenticate')
  t.equal(consumerLogin.statusCode, 404)
  t.equal(consumerLogin.json().error_type, 'not_found')
  t.equal(consumerLogin.json().error_message, 'Not found: /auth/passwords/authenticate is a consumer route and this service runs with STYTCH_VERTICAL=b2b; set STYTCH_VERTICAL=consumer to serve it')
  const consumer = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer' })
  const b2bLogin = await consumer.app.inject({ method: 'POST', url: LOGIN, headers: json, payload: body })
  t.equal(b2bLogin.statusCode, 404)
  t.equal(b2bLogin.json().error_message, `Not found: ${LOGIN} is a b2b route and this service runs with STYTCH_VERTICAL=consumer; set STYTCH_VERTICAL=b2b to serve it`)
  const other = await post(json, '{}', '/auth/nothing/here')
  t.equal(other.json().error_message, 'Not found', 'a path that is no route at all says only that')
  t.equal(consumer.emulator.emulator.requests.length, 0, 'nothing reached Stytch')
})

t.test('none of the refused requests reached Stytch', async (t) => {
  const logins = emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/passwords/authenticate').length
  // accepted: CSRF ok (1), allowed + same origin (2), same-origin/cross-site allowed (2), charset (1), no-store (1), CORS (1)
  t.equal(logins, 8, 'only the 8 accepted logins went upstream')
})
