import t from 'tap'
import { json, startFakeUpstream } from '../fake-upstream.js'
import { assertNoTokens, Browser, buildTestApp, DEMO, setCookies } from '../helper.js'

// GET /auth/session for a browser holding only the intermediate-session cookie: a B2B login half
// way through. 401 mfa_required or discovery_pending, with what the page needs to resume it.

const IST = '__Host-stytch_intermediate_session'
const mfaLogin = { organization_id: 'mfa-org', email_address: DEMO.email, password: DEMO.password }

t.test('MFA pending: 401 mfa_required with the organization, member and factors; the login then finishes with them', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const browser = new Browser(app)
  const login = await browser.post('/auth/b2b/passwords/authenticate', mfaLogin)
  t.equal(login.json().member_authenticated, false)
  t.same([...browser.cookies.keys()], [IST])

  const res = await browser.get('/auth/session')
  t.equal(res.statusCode, 401)
  const body = res.json()
  const org = emulator.emulator.store.organization('mfa-org')!
  const member = emulator.emulator.store.findMember(DEMO.email, 'mfa-org')!
  t.match(body, {
    status_code: 401,
    error_type: 'mfa_required',
    request_id: res.headers['x-request-id'],
    intermediate_session: {
      step: 'mfa',
      email_address: DEMO.email,
      organization: { organization_id: org.organization_id, organization_name: 'MFA Org', organization_slug: 'mfa-org' },
      member_id: member.member_id,
      mfa_factors: ['sms_otp', 'totp', 'recovery_code']
    }
  })
  assertNoTokens(t, res)
  t.same(setCookies(res), [], 'the IST cookie is kept')
  const upstream = emulator.emulator.requests.filter((r) => r.path === '/v1/b2b/discovery/organizations')
  t.same(upstream.map((r) => r.body), [{ intermediate_session_token: browser.cookies.get(IST) }], 'the IST went to discovery/organizations, nothing else')

  const { organization_id: organizationId } = body.intermediate_session.organization
  const done = await browser.post('/auth/b2b/totps/authenticate', { organization_id: organizationId, member_id: body.intermediate_session.member_id, code: emulator.emulator.store.totpCode(member.member_id) })
  t.equal(done.statusCode, 200, 'the resumed step completes the login')
  t.equal((await browser.get('/auth/session')).statusCode, 200)
})

t.test('discovery pending: 401 discovery_pending with the email and the organizations to pick from', async (t) => {
  const { app } = await buildTestApp(t)
  const browser = new Browser(app)
  await browser.post('/auth/b2b/passwords/discovery/authenticate', { email_address: DEMO.email, password: DEMO.password })
  const res = await browser.get('/auth/session')
  t.equal(res.statusCode, 401)
  const body = res.json()
  t.equal(body.error_type, 'discovery_pending')
  t.equal(body.intermediate_session.step, 'discovery')
  t.equal(body.intermediate_session.email_address, DEMO.email)
  const slugs = body.intermediate_session.discovered_organizations.map((d: { organization: { organization_slug: string } }) => d.organization.organization_slug).sort()
  t.same(slugs, ['demo-org', 'mfa-org'])
  assertNoTokens(t, res)
  const demoOrg = body.intermediate_session.discovered_organizations.find((d: { organization: { organization_slug: string } }) => d.organization.organization_slug === 'demo-org')
  const exchange = await browser.post('/auth/b2b/discovery/intermediate_sessions/exchange', { organization_id: demoOrg.organization.organization_id })
  t.equal(exchange.statusCode, 200, 'the picked organization finishes the login')
})

t.test('an IST Stytch no longer knows: 401 session_invalid and the IST cookie expired', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const browser = new Browser(app)
  await browser.post('/auth/b2b/passwords/authenticate', mfaLogin)
  emulator.emulator.clock.advance(11 * 60_000)
  const res = await browser.get('/auth/session')
  t.equal(res.statusCode, 401)
  t.equal(res.json().error_type, 'session_invalid')
  const expired = setCookies(res).find((c) => c.name === IST)
  t.equal(expired?.attributes['max-age'], '0', 'IST cookie expired')
  t.equal(expired?.attributes.secure, true, 'with the attributes it was set with')
  t.same([...browser.cookies.keys()], [])
})

t.test('Stytch refusing the IST on discovery (an organization-scoped login): mfa_required without details; 5xx stays 502', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  const { app } = await buildTestApp(t, { STYTCH_API_URL: fake.url })
  const cookie = `${IST}=ist-1`
  fake.handler = (_req, res) => json(res, 400, { status_code: 400, error_type: 'invalid_intermediate_session_token_for_organization', error_message: 'x', request_id: 'r' })
  const refused = await app.inject({ method: 'GET', url: '/auth/session', headers: { cookie } })
  t.equal(refused.statusCode, 401)
  t.match(refused.json(), { error_type: 'mfa_required', intermediate_session: { step: 'mfa' } })
  t.notOk(refused.json().intermediate_session.organization)
  fake.handler = (_req, res) => json(res, 503, { error_type: 'unavailable' })
  const down = await app.inject({ method: 'GET', url: '/auth/session', headers: { cookie } })
  t.equal(down.statusCode, 502)
  t.equal(down.json().error_type, 'upstream_unavailable')
  t.same(setCookies(down), [], 'an outage does not end the login')
})

t.test('a session cookie takes precedence; the consumer vertical has no pending login', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: `${IST}=ist-1; __Host-stytch_session=tok-1` } })
  t.equal(res.json().error_type, 'session_invalid', 'the session is authenticated, not the IST')
  t.equal(emulator.emulator.count('/v1/b2b/discovery'), 0)
  const consumer = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer' })
  const plain = await consumer.app.inject({ method: 'GET', url: '/auth/session', headers: { cookie: `${IST}=ist-1` } })
  t.equal(plain.json().error_type, 'session_missing')
})

t.test('back to log in: POST /auth/logout with only the IST expires it without a revoke call', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const browser = new Browser(app)
  await browser.post('/auth/b2b/passwords/authenticate', mfaLogin)
  const res = await browser.post('/auth/logout')
  t.equal(res.statusCode, 204)
  t.equal(setCookies(res).find((c) => c.name === IST)?.attributes['max-age'], '0')
  t.same([...browser.cookies.keys()], [])
  t.equal(emulator.emulator.count('/v1/b2b/sessions/revoke'), 0, 'no session to revoke')
  t.equal((await browser.get('/auth/session')).json().error_type, 'session_missing')
})
