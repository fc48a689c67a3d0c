import t from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { LIMITS } from '../../src/emulator/store.js'
import { b2bLogin, basicAuth, consumerLogin, DEMO_EMAIL, harness, T0 } from './fixtures/harness.js'

t.test('Basic auth', async (t) => {
  const h = await harness(t)
  const body = { email: DEMO_EMAIL, password: h.password }
  for (const authorization of [undefined, basicAuth(h.app.emulator.projectId, 'wrong'), basicAuth('project-test-other', h.app.emulator.secret), 'Bearer x']) {
    const res = await h.app.inject({ method: 'POST', url: '/v1/passwords/authenticate', payload: body, headers: authorization ? { authorization } : {} })
    t.equal(res.statusCode, 401)
    const json = res.json()
    t.equal(json.error_type, 'unauthorized_credentials')
    t.equal(json.status_code, 401)
    t.match(json.request_id, /^request-id-test-[0-9a-f-]{36}$/)
    t.equal(json.error_url, 'https://stytch.com/docs/api/errors/401')
    t.type(json.error_message, 'string')
  }
  t.equal(h.app.emulator.count('/v1/passwords'), 4, 'refused requests are recorded too')
})

t.test('defaults and configuration', async (t) => {
  const h = await harness(t)
  t.equal(h.app.emulator.projectId, 'project-test-11111111-1111-4111-8111-111111111111')
  t.equal(h.app.emulator.secret, 'emulator-secret-local-only')
  t.notMatch(h.app.emulator.secret, /^secret-test-/)
  t.equal(h.app.emulator.demoPassword, 'demo-password-123!')
  const custom = await harness(t, { projectId: 'project-test-custom', secret: 's3cret', demoPassword: 'another-Long-pass-42' })
  t.equal((await custom.post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: 'another-Long-pass-42' })).status, 200)
})

t.test('errors: malformed JSON, unknown fields, bad duration, unknown route', async (t) => {
  const h = await harness(t)
  const bad = await h.post('/v1/passwords/authenticate', '{"email":')
  t.equal(bad.status, 400)
  t.equal(bad.body.error_type, 'bad_request')
  const unknown = await h.post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: h.password, not_a_stytch_field: 1 })
  t.equal(unknown.status, 200, 'unknown fields are accepted')
  const missing = await h.post('/v1/passwords/authenticate', { email: DEMO_EMAIL })
  t.equal(missing.status, 400)
  t.equal(missing.body.error_type, 'bad_request')
  for (const minutes of [4, 527041, 1.5]) {
    const res = await h.post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: h.password, session_duration_minutes: minutes })
    t.equal(res.status, 400)
    t.equal(res.body.error_type, minutes === 1.5 ? 'bad_request' : 'invalid_session_duration_minutes')
  }
  for (const payload of ['[1,2]', '"text"', '']) {
    const res = await h.post('/v1/b2b/passwords/strength_check', payload)
    t.equal(res.status, 400, `body ${JSON.stringify(payload)}`)
    t.equal(res.body.error_type, 'bad_request')
  }
  const wrongType = await h.post('/v1/passwords/authenticate', { email: 42, password: h.password })
  t.equal(wrongType.body.error_type, 'bad_request')
  const route = await h.post('/v1/nope', {})
  t.equal(route.status, 404)
  t.equal(route.body.error_type, 'route_not_found')
})

t.test('B2B passwords/authenticate', async (t) => {
  const h = await harness(t)
  const ok = await b2bLogin(h)
  t.equal(ok.status_code, 200)
  t.match(ok.request_id, /^request-id-test-/)
  t.equal(ok.member_authenticated, true)
  t.equal(ok.intermediate_session_token, '')
  t.equal(ok.organization.organization_slug, 'demo-org')
  t.equal(ok.organization_id, ok.organization.organization_id)
  t.equal(ok.member.email_address, DEMO_EMAIL)
  t.match(ok.session_token, /^[A-Za-z0-9_-]{43}$/)
  t.equal(ok.member_session.organization_slug, 'demo-org')
  t.equal(Date.parse(ok.member_session.expires_at) - T0, 60 * 60_000, 'default 60 minutes')
  t.match(ok.member_session.authentication_factors, [{ type: 'password', delivery_method: 'knowledge', email_factor: { email_address: DEMO_EMAIL } }])
  t.notOk('mfa_required' in ok, 'optional fields omitted, never null')

  const byId = await h.post('/v1/b2b/passwords/authenticate', {
    organization_id: ok.organization_id,
    email_address: 'DEMO@example.com',
    password: h.password,
    session_duration_minutes: 30
  })
  t.equal(byId.status, 200, 'organization by id; email case-insensitive')
  t.equal(Date.parse(byId.body.member_session.expires_at) - T0, 30 * 60_000)

  const wrong = await h.post('/v1/b2b/passwords/authenticate', { organization_id: 'demo-org', email_address: DEMO_EMAIL, password: 'nope-nope-nope' })
  t.equal(wrong.status, 401)
  t.equal(wrong.body.error_type, 'unauthorized_credentials')
  const stranger = await h.post('/v1/b2b/passwords/authenticate', { organization_id: 'demo-org', email_address: 'x@example.com', password: h.password })
  t.equal(stranger.body.error_type, 'unauthorized_credentials')
  const noOrg = await h.post('/v1/b2b/passwords/authenticate', { organization_id: 'no-such-org', email_address: DEMO_EMAIL, password: h.password })
  t.equal(noOrg.status, 404)
  t.equal(noOrg.body.error_type, 'organization_not_found')
})

t.test('B2B passwords/authenticate in an MFA organization answers an IST', async (t) => {
  const h = await harness(t)
  const res = await b2bLogin(h, 'mfa-org', { session_duration_minutes: 120 })
  t.equal(res.member_authenticated, false)
  t.equal(res.session_token, '')
  t.equal(res.session_jwt, '')
  t.match(res.intermediate_session_token, /^[A-Za-z0-9_-]{43}$/)
  t.notOk('member_session' in res)
  t.same(res.mfa_required, {
    member_options: { mfa_phone_number: '+15005550006', totp_registration_id: res.member.totp_registration_id },
    secondary_auth_initiated: 'sms_otp'
  })
  const sms = h.app.emulator.outbox.at(-1)
  t.match(sms, { kind: 'sms_otp', to: '+15005550006', code: /^\d{6}$/, organization_id: res.organization_id })
  t.equal(h.app.emulator.store.activeSessions(res.member_id).length, 0, 'no session yet')
})

t.test('consumer passwords/authenticate', async (t) => {
  const h = await harness(t)
  const none = await consumerLogin(h, {})
  t.equal(none.session_token, '')
  t.equal(none.session_jwt, '')
  t.notOk('session' in none, 'no session without session_duration_minutes')
  t.equal(none.user.emails[0].email, DEMO_EMAIL)
  const withSession = await consumerLogin(h)
  t.match(withSession.session, { user_id: withSession.user_id, roles: ['stytch_user'], authentication_factors: [{ type: 'password' }] })
  t.equal(Date.parse(withSession.session.expires_at) - T0, 60 * 60_000)
  const wrong = await h.post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: 'wrong-password-1' })
  t.equal(wrong.status, 401)
  t.equal(wrong.body.error_type, 'unauthorized_credentials')
  const unknown = await h.post('/v1/passwords/authenticate', { email: 'nobody@example.com', password: 'whatever-123' })
  t.equal(unknown.status, 404)
  t.equal(unknown.body.error_type, 'email_not_found')
})

t.test('strength_check (both verticals)', async (t) => {
  const h = await harness(t)
  const strong = await h.post('/v1/passwords/strength_check', { password: h.password })
  t.match(strong.body, { valid_password: true, breached_password: false, strength_policy: 'zxcvbn', breach_detection_on_create: true })
  t.ok(strong.body.score >= 3)
  const weak = await h.post('/v1/passwords/strength_check', { password: 'password' })
  t.match(weak.body, { valid_password: false, breached_password: false, feedback: { warning: /common/ } })
  t.ok(weak.body.score < 3)
  const breached = await h.post('/v1/b2b/passwords/strength_check', { password: 'password123!', email_address: DEMO_EMAIL })
  t.match(breached.body, { valid_password: false, breached_password: true, zxcvbn_feedback: { warning: /breach/ }, luds_feedback: { has_symbol: true } })
  const short = await h.post('/v1/b2b/passwords/strength_check', { password: 'aB3!' })
  t.equal(short.body.valid_password, false)
})

t.test('sessions/authenticate and revoke (B2B)', async (t) => {
  const h = await harness(t)
  const login = await b2bLogin(h)
  const byToken = await h.post('/v1/b2b/sessions/authenticate', { session_token: login.session_token })
  t.equal(byToken.status, 200)
  t.equal(byToken.body.member_session.member_session_id, login.member_session.member_session_id)
  t.equal(byToken.body.session_token, login.session_token)
  t.not(byToken.body.session_jwt, login.session_jwt, 'a new JWT every time')
  t.equal(byToken.body.organization.organization_slug, 'demo-org')
  const byJwt = await h.post('/v1/b2b/sessions/authenticate', { session_jwt: login.session_jwt, session_duration_minutes: 600 })
  t.equal(Date.parse(byJwt.body.member_session.expires_at) - T0, 600 * 60_000, 'extended from now')

  const both = await h.post('/v1/b2b/sessions/authenticate', { session_token: login.session_token, session_jwt: login.session_jwt })
  t.equal(both.status, 400)
  t.equal(both.body.error_type, 'too_many_session_arguments')
  const neither = await h.post('/v1/b2b/sessions/authenticate', {})
  t.equal(neither.body.error_type, 'no_session_arguments')
  const unknown = await h.post('/v1/b2b/sessions/authenticate', { session_token: 'nope' })
  t.equal(unknown.status, 404)
  t.equal(unknown.body.error_type, 'session_not_found')

  t.equal((await h.post('/v1/b2b/sessions/revoke', { session_jwt: login.session_jwt })).status, 200)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: login.session_token })).body.error_type, 'session_not_found')
  t.equal((await h.post('/v1/b2b/sessions/revoke', { session_token: login.session_token })).status, 404)

  const a = await b2bLogin(h)
  const b = await b2bLogin(h)
  t.equal((await h.post('/v1/b2b/sessions/revoke', { member_session_id: a.member_session.member_session_id })).status, 200)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: b.session_token })).status, 200)
  t.equal((await h.post('/v1/b2b/sessions/revoke', { member_id: b.member_id })).status, 200)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: b.session_token })).status, 404)
  t.equal((await h.post('/v1/b2b/sessions/revoke', {})).body.error_type, 'no_session_arguments')
  t.equal((await h.post('/v1/b2b/sessions/revoke', { member_id: 'member-test-nope' })).body.error_type, 'member_not_found')
})

t.test('sessions/authenticate and revoke (consumer)', async (t) => {
  const h = await harness(t)
  const login = await consumerLogin(h)
  const auth = await h.post('/v1/sessions/authenticate', { session_jwt: login.session_jwt, session_custom_claims: { plan: 'pro' } })
  t.equal(auth.status, 200)
  t.equal(auth.body.session.session_id, login.session.session_id)
  t.same(auth.body.session.custom_claims, { plan: 'pro' })
  t.equal(auth.body.user.user_id, login.user_id)
  const b2bOnConsumer = await h.post('/v1/b2b/sessions/authenticate', { session_token: login.session_token })
  t.equal(b2bOnConsumer.status, 404, 'a consumer session is unknown to B2B')
  t.equal((await h.post('/v1/sessions/revoke', { session_id: login.session.session_id })).status, 200)
  t.equal((await h.post('/v1/sessions/authenticate', { session_token: login.session_token })).body.error_type, 'session_not_found')
  t.equal((await h.post('/v1/sessions/revoke', { session_id: 'a', session_token: 'b' })).body.error_type, 'too_many_session_arguments')
})

t.test('session JWT verifies against the JWKS with Stytch claims', async (t) => {
  const h = await harness(t)
  const { projectId } = h.app.emulator
  const login = await b2bLogin(h, 'demo-org', { session_custom_claims: { tenant: 'acme', iss: 'ignored' } })
  const jwks = await h.get(`/v1/b2b/sessions/jwks/${projectId}`)
  t.equal(jwks.status, 200, 'JWKS needs no auth')
  t.match(jwks.body.keys[0], { kty: 'RSA', use: 'sig', key_ops: ['verify'], alg: 'RS256', kid: /^jwk-test-/, x5c: [], x5tS256: '', n: String, e: 'AQAB' })
  t.same((await h.get(`/v1/sessions/jwks/${projectId}`)).body.keys, jwks.body.keys)
  t.equal((await h.get('/v1/sessions/jwks/project-test-other')).status, 404)

  const header = decodeProtectedHeader(login.session_jwt)
  t.same(header, { alg: 'RS256', typ: 'JWT', kid: jwks.body.keys[0].kid })
  const { payload } = await jwtVerify(login.session_jwt, createLocalJWKSet(jwks.body as any), {
    issuer: `stytch.com/${projectId}`,
    audience: projectId,
    typ: 'JWT',
    algorithms: ['RS256'],
    currentDate: new Date(T0)
  })
  t.same(payload.aud, [projectId])
  t.equal(payload.sub, login.member_id)
  t.equal(payload.iat, T0 / 1000)
  t.equal(payload.nbf, T0 / 1000)
  t.equal(payload.exp, T0 / 1000 + 300)
  t.equal(payload.tenant, 'acme', 'custom claims are top-level')
  t.equal(payload.iss, `stytch.com/${projectId}`, 'reserved custom claims ignored')
  const session = payload['https://stytch.com/session'] as Record<string, any>
  t.same(Object.keys(session).sort(), ['attributes', 'authentication_factors', 'expires_at', 'id', 'last_accessed_at', 'roles', 'started_at'])
  t.equal(session.id, login.member_session.member_session_id)
  t.equal(session.expires_at, login.member_session.expires_at, "the session's expiry, not the JWT's")
  t.same(session.roles, ['stytch_member', 'stytch_admin'])
  t.match(session.authentication_factors, [{ type: 'password' }])
  t.same(payload['https://stytch.com/organization'], { organization_id: login.organization_id, slug: 'demo-org' })

  const consumer = await consumerLogin(h)
  const consumerJwks = await h.get(`/v1/sessions/jwks/${projectId}`)
  const verified = await jwtVerify(consumer.session_jwt, createLocalJWKSet(consumerJwks.body as any), { issuer: `stytch.com/${projectId}`, audience: projectId, currentDate: new Date(T0) })
  t.equal(verified.payload.sub, consumer.user_id)
  t.notOk('https://stytch.com/organization' in verified.payload)
})

t.test('sessions expire on the emulator clock; expired JWTs of live sessions refresh', async (t) => {
  const h = await harness(t)
  const login = await b2bLogin(h, 'demo-org', { session_duration_minutes: 10 })
  h.app.emulator.clock.advance(6 * 60_000)
  const refreshed = await h.post('/v1/b2b/sessions/authenticate', { session_jwt: login.session_jwt })
  t.equal(refreshed.status, 200, 'a JWT past its exp still names a live session')
  const { payload } = await jwtVerify(refreshed.body.session_jwt, createLocalJWKSet((await h.get(`/v1/b2b/sessions/jwks/${h.app.emulator.projectId}`)).body as any), {
    currentDate: new Date(h.app.emulator.clock.now())
  })
  t.equal(payload.iat, (T0 + 6 * 60_000) / 1000, 'iat follows the clock')
  h.app.emulator.clock.advance(4 * 60_000)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: login.session_token })).body.error_type, 'session_not_found')
  const forged = login.session_jwt.slice(0, -4) + 'AAAA'
  const bad = await h.post('/v1/b2b/sessions/authenticate', { session_jwt: forged })
  t.equal(bad.status, 401)
  t.equal(bad.body.error_type, 'unable_to_parse_session_jwt')
})

t.test('rotateKeys: new kid signs, old key still served and still accepted', async (t) => {
  const h = await harness(t)
  const before = await b2bLogin(h)
  const oldKid = decodeProtectedHeader(before.session_jwt).kid
  await h.app.emulator.rotateKeys()
  const jwks = (await h.get(`/v1/b2b/sessions/jwks/${h.app.emulator.projectId}`)).body
  t.equal(jwks.keys.length, 2)
  t.not(jwks.keys[0].kid, oldKid, 'newest key first')
  t.equal(jwks.keys[1].kid, oldKid)
  const after = await h.post('/v1/b2b/sessions/authenticate', { session_jwt: before.session_jwt })
  t.equal(after.status, 200)
  t.equal(decodeProtectedHeader(after.body.session_jwt).kid, jwks.keys[0].kid)
  const keySet = createLocalJWKSet(jwks as any)
  for (const jwt of [before.session_jwt, after.body.session_jwt]) {
    await t.resolves(jwtVerify(jwt, keySet, { currentDate: new Date(T0) }))
  }
})

t.test('requests log and count', async (t) => {
  const h = await harness(t)
  await b2bLogin(h)
  await h.post('/v1/b2b/passwords/strength_check', { password: 'x' })
  await h.get(`/v1/sessions/jwks/${h.app.emulator.projectId}`)
  const { requests } = h.app.emulator
  t.equal(h.app.emulator.count(), 3)
  t.equal(h.app.emulator.count('/v1/b2b/passwords'), 2)
  t.match(requests[0], {
    method: 'POST',
    path: '/v1/b2b/passwords/authenticate',
    headers: { authorization: /^Basic / },
    body: { organization_id: 'demo-org', email_address: DEMO_EMAIL },
    status: 200,
    response: { status_code: 200, member_authenticated: true }
  })
  t.match(requests[2], { method: 'GET', status: 200, response: { keys: Array } })
})

t.test('memory is bounded: old log entries and sessions are forgotten, count() stays exact', async (t) => {
  const saved = { ...LIMITS }
  t.teardown(() => Object.assign(LIMITS, saved))
  Object.assign(LIMITS, { log: 3, sessions: 2 })
  const h = await harness(t)
  const first = await b2bLogin(h)
  await b2bLogin(h)
  await b2bLogin(h)
  for (let i = 0; i < 3; i++) await h.post('/v1/passwords/strength_check', { password: 'x' })
  t.equal(h.app.emulator.requests.length, 3)
  t.equal(h.app.emulator.count(), 6)
  t.equal(h.app.emulator.count('/v1/b2b/'), 3)
  t.equal(h.app.emulator.store.sessions.size, 2)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: first.session_token })).status, 404)
  for (let i = 0; i < 5; i++) await h.post('/v1/passwords/email/reset/start', { email: DEMO_EMAIL })
  t.equal(h.app.emulator.outbox.length, 3)
})
