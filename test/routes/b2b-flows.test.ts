import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { assertUpstreamContract } from '../contract/assert.js'
import { assertNoTokens, Browser, buildTestApp, DEMO, loggedInBrowser, setCookies, upstreamBody, type TestApp } from '../helper.js'

// Every B2B password flow through the BFF with a browser-like client: no token in any body,
// cookies doing the work. Each app's upstream traffic is then checked against Stytch's schemas.

const P = '/auth/b2b'
const SESSION = '__Host-stytch_session'
const JWT = '__Host-stytch_session_jwt'
const IST = '__Host-stytch_intermediate_session'
const PKCE = '__Host-stytch_pkce'
const demoLogin = { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password }
const NEW_PASSWORD = 'a-brand-new-Passw0rd!-2026'

/** A flow test: its own app and emulator; at the end, all its upstream traffic is checked against Stytch's schemas. */
function flow (name: string, env: Record<string, string>, body: (t: Test, ctx: TestApp) => Promise<void>) {
  t.test(name, async (t) => {
    const ctx = await buildTestApp(t, { RESET_PASSWORD_REDIRECT_URL: 'https://app.example.com/reset', ...env })
    await body(t, ctx)
    assertUpstreamContract(t, ctx.emulator)
  })
}

const loggedIn = (ctx: TestApp) => loggedInBrowser(ctx.app, `${P}/passwords/authenticate`, demoLogin)

function lastOutbox ({ emulator }: TestApp, kind: string) {
  const m = emulator.emulator.outbox.filter((x) => x.kind === kind).at(-1)
  if (!m) throw new Error(`no ${kind} in the outbox`)
  return m
}

flow('B2B password authenticate: session cookies, no token in the body', {}, async (t, ctx) => {
  const browser = new Browser(ctx.app)
  const res = await browser.post(`${P}/passwords/authenticate`, demoLogin)
  t.equal(res.statusCode, 200)
  t.equal(res.json().member_authenticated, true)
  assertNoTokens(t, res)
  t.ok(browser.cookies.get(SESSION))
  t.ok(browser.cookies.get(JWT))
  t.notOk(browser.cookies.get(IST))
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/passwords/authenticate').session_duration_minutes, 60)
  const who = await browser.get('/auth/session')
  t.equal(who.statusCode, 200)
  t.equal(who.json().member.email_address, DEMO.email)

  const wrong = await new Browser(ctx.app).post(`${P}/passwords/authenticate`, { ...demoLogin, password: 'nope-nope-nope-1' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error_type, 'unauthorized_credentials')
  const noOrg = await new Browser(ctx.app).post(`${P}/passwords/authenticate`, { ...demoLogin, organization_id: 'no-such-org' })
  t.equal(noOrg.statusCode, 404)
  t.equal(noOrg.json().error_type, 'organization_not_found')
})

flow('MFA: a login that answers member_authenticated false sets only the intermediate-session cookie; SMS OTP finishes it', {}, async (t, ctx) => {
  const browser = await loggedIn(ctx) // an older session in demo-org
  const res = await browser.post(`${P}/passwords/authenticate`, { ...demoLogin, organization_id: 'mfa-org' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.member_authenticated, false)
  t.ok(body.mfa_required)
  assertNoTokens(t, res)
  const ist = setCookies(res).find((c) => c.name === IST)
  t.equal(ist?.attributes['max-age'], '600', 'the IST cookie lives 10 minutes')
  t.equal(ist?.attributes.httponly, true)
  t.notOk(browser.cookies.get(SESSION), 'a login starts fresh: the old session cookie is gone')
  t.notOk(browser.cookies.get(JWT))
  t.notOk('intermediate_session_token' in upstreamBody(ctx.emulator, '/v1/b2b/passwords/authenticate'), 'no IST forwarded to a password login')

  const ids = { organization_id: body.organization_id, member_id: body.member_id }
  const sent = await browser.post(`${P}/otps/sms/send`, ids)
  t.equal(sent.statusCode, 200)
  assertNoTokens(t, sent)
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/otps/sms/send').intermediate_session_token, browser.cookies.get(IST), 'IST taken from the cookie')
  const code = lastOutbox(ctx, 'sms_otp').code
  const wrongCode = await browser.post(`${P}/otps/sms/authenticate`, { ...ids, code: code === '000000' ? '111111' : '000000' })
  t.equal(wrongCode.statusCode, 404)
  t.equal(wrongCode.json().error_type, 'otp_code_not_found')
  const done = await browser.post(`${P}/otps/sms/authenticate`, { ...ids, code })
  t.equal(done.statusCode, 200)
  assertNoTokens(t, done)
  t.ok(browser.cookies.get(SESSION), 'session cookies replace the IST')
  t.ok(browser.cookies.get(JWT))
  t.notOk(browser.cookies.get(IST))
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/otps/sms/authenticate').session_duration_minutes, 60, 'duration sent again on the call that finishes')
  t.equal((await browser.get('/auth/session')).json().member_session.organization_id, body.organization_id)
})

flow('MFA with TOTP and with a recovery code', {}, async (t, ctx) => {
  for (const method of ['totp', 'recovery'] as const) {
    const browser = new Browser(ctx.app)
    const body = (await browser.post(`${P}/passwords/authenticate`, { ...demoLogin, organization_id: 'mfa-org' })).json()
    const ids = { organization_id: body.organization_id, member_id: body.member_id }
    const store = ctx.emulator.emulator.store
    const res = method === 'totp'
      ? await browser.post(`${P}/totps/authenticate`, { ...ids, code: store.totpCode(body.member_id) })
      : await browser.post(`${P}/recovery_codes/recover`, { ...ids, recovery_code: store.recoveryCodes(body.member_id)[0] })
    t.equal(res.statusCode, 200, method)
    assertNoTokens(t, res)
    t.ok(browser.cookies.get(SESSION), method)
    t.notOk(browser.cookies.get(IST), method)
  }
  t.ok(ctx.emulator.emulator.count('/v1/b2b/totp/authenticate') === 1, 'TOTP goes to Stytch\'s /v1/b2b/totp/authenticate')
  const bad = new Browser(ctx.app)
  const body = (await bad.post(`${P}/passwords/authenticate`, { ...demoLogin, organization_id: 'mfa-org' })).json()
  const wrong = await bad.post(`${P}/totps/authenticate`, { organization_id: body.organization_id, member_id: body.member_id, code: '000000' })
  t.equal(wrong.statusCode, 404)
  t.equal(wrong.json().error_type, 'totp_code_not_found')
})

flow('MFA, exchange and create routes answer 401 session_missing without their cookie', {}, async (t, ctx) => {
  const ids = { organization_id: 'x', member_id: 'y' }
  const cases: Array<[string, unknown]> = [
    [`${P}/otps/sms/send`, ids],
    [`${P}/otps/sms/authenticate`, { ...ids, code: '123456' }],
    [`${P}/totps/authenticate`, { ...ids, code: '123456' }],
    [`${P}/recovery_codes/recover`, { ...ids, recovery_code: 'abcd-efgh' }],
    [`${P}/discovery/intermediate_sessions/exchange`, { organization_id: 'x' }],
    [`${P}/discovery/organizations/create`, { organization_name: 'X' }],
    [`${P}/discovery/organizations`, {}],
    [`${P}/sessions/exchange`, { organization_id: 'x' }],
    [`${P}/passwords/session/reset`, { organization_id: 'x', password: NEW_PASSWORD }]
  ]
  const before = ctx.emulator.emulator.count()
  for (const [url, body] of cases) {
    const res = await new Browser(ctx.app).post(url, body)
    t.equal(res.statusCode, 401, url)
    t.equal(res.json().error_type, 'session_missing', url)
  }
  t.equal(ctx.emulator.emulator.count(), before, 'nothing reached Stytch')
})

flow('B2B discovery email reset start: same 200 for known and unknown accounts, PKCE challenge sent, config filled', { DISCOVERY_REDIRECT_URL: 'https://app.example.com/discover', RESET_PASSWORD_EXPIRATION_MINUTES: '15', RESET_PASSWORD_TEMPLATE_ID: 'tpl-reset' }, async (t, ctx) => {
  const answers = []
  for (const email of [DEMO.email, 'nobody@example.com']) {
    const browser = new Browser(ctx.app)
    const res = await browser.post(`${P}/passwords/discovery/email/reset/start`, { email_address: email }, { 'x-request-id': 'same-id' })
    t.equal(res.statusCode, 200, email)
    t.same(res.json(), { status_code: 200, request_id: 'same-id' }, email)
    const pkce = setCookies(res).find((c) => c.name === PKCE)
    t.ok(pkce, `${email}: PKCE cookie`)
    t.equal(pkce?.attributes['max-age'], String(15 * 60), 'PKCE cookie lives as long as the reset link')
    t.equal(pkce?.attributes.httponly, true)
    const sent = upstreamBody(ctx.emulator, '/v1/b2b/passwords/discovery/email/reset/start')
    t.equal(sent.pkce_code_challenge, createHash('sha256').update(browser.cookies.get(PKCE) ?? '').digest('base64url'), 'challenge = S256(verifier in the cookie)')
    t.equal(sent.discovery_redirect_url, 'https://app.example.com/discover')
    t.equal(sent.reset_password_redirect_url, 'https://app.example.com/reset')
    t.equal(sent.reset_password_expiration_minutes, 15)
    t.equal(sent.reset_password_template_id, 'tpl-reset')
    t.notOk('code_challenge' in sent)
    answers.push({ status: res.statusCode, body: res.body, cookieNames: setCookies(res).map((c) => c.name) })
  }
  t.same(answers[0], answers[1], 'an existing and a missing account look the same')
})

flow('HIDE_ACCOUNT_EXISTENCE=false and RESET_PKCE=false pass Stytch through unchanged', { HIDE_ACCOUNT_EXISTENCE: 'false', RESET_PKCE: 'false' }, async (t, ctx) => {
  const known = await new Browser(ctx.app).post(`${P}/passwords/email/reset/start`, { organization_id: DEMO.org, email_address: DEMO.email })
  t.equal(known.statusCode, 200)
  t.ok(known.json().member_id, "Stytch's answer")
  t.same(setCookies(known), [], 'no PKCE cookie')
  t.notOk('code_challenge' in upstreamBody(ctx.emulator, '/v1/b2b/passwords/email/reset/start'))
  const unknown = await new Browser(ctx.app).post(`${P}/passwords/email/reset/start`, { organization_id: DEMO.org, email_address: 'nobody@example.com' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error_type, 'member_not_found')
})

flow('B2B email reset: link completes in the browser that asked, not in another; cookie expired after use', {}, async (t, ctx) => {
  const browser = new Browser(ctx.app)
  const start = await browser.post(`${P}/passwords/email/reset/start`, { organization_id: DEMO.org, email_address: DEMO.email })
  t.equal(start.statusCode, 200)
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/passwords/email/reset/start').reset_password_redirect_url, 'https://app.example.com/reset')
  const token = lastOutbox(ctx, 'reset_password').token!

  const stranger = await new Browser(ctx.app).post(`${P}/passwords/email/reset`, { password_reset_token: token, password: NEW_PASSWORD })
  t.equal(stranger.statusCode, 400, 'another browser has no verifier')
  t.equal(stranger.json().error_type, 'pkce_expected_code_verifier')
  t.notOk('code_verifier' in upstreamBody(ctx.emulator, '/v1/b2b/passwords/email/reset'), 'forwarded without a verifier')

  const weak = await browser.post(`${P}/passwords/email/reset`, { password_reset_token: token, password: 'password' })
  t.equal(weak.statusCode, 400)
  t.equal(weak.json().error_type, 'weak_password')
  t.ok(browser.cookies.get(PKCE), 'the PKCE cookie survives a refused reset')

  const res = await browser.post(`${P}/passwords/email/reset`, { password_reset_token: token, password: NEW_PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/passwords/email/reset').code_verifier, setCookies(start).find((c) => c.name === PKCE)?.value)
  t.notOk(browser.cookies.get(PKCE), 'PKCE cookie expired after use')
  t.ok(browser.cookies.get(SESSION))
  t.ok(browser.cookies.get(JWT))

  const again = await browser.post(`${P}/passwords/email/reset`, { password_reset_token: token, password: NEW_PASSWORD + 'x' })
  t.equal(again.statusCode, 401)
  t.equal(again.json().error_type, 'unable_to_auth_password_reset_token')
  const login = await new Browser(ctx.app).post(`${P}/passwords/authenticate`, { ...demoLogin, password: NEW_PASSWORD })
  t.equal(login.statusCode, 200, 'the new password works')
})

flow('B2B existing-password reset sets session cookies', {}, async (t, ctx) => {
  const browser = new Browser(ctx.app)
  const res = await browser.post(`${P}/passwords/existing_password/reset`, { organization_id: DEMO.org, email_address: DEMO.email, existing_password: DEMO.password, new_password: NEW_PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.ok(browser.cookies.get(SESSION))
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/passwords/existing_password/reset').session_duration_minutes, 60)
  const wrong = await new Browser(ctx.app).post(`${P}/passwords/existing_password/reset`, { organization_id: DEMO.org, email_address: DEMO.email, existing_password: 'not-it-at-all-9', new_password: NEW_PASSWORD + '2' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error_type, 'unauthorized_credentials')
})

flow('B2B session reset takes the session from the cookie and revokes the member\'s other sessions', {}, async (t, ctx) => {
  const other = await loggedIn(ctx) // another device of the same member
  const browser = await loggedIn(ctx)
  const token = browser.cookies.get(SESSION)
  const res = await browser.post(`${P}/passwords/session/reset`, { organization_id: DEMO.org, password: NEW_PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  const sent = upstreamBody(ctx.emulator, '/v1/b2b/passwords/session/reset')
  t.equal(sent.session_token, token, 'session token from the cookie')
  t.notOk('session_jwt' in sent, 'exactly one credential')
  t.equal((await browser.get('/auth/session')).statusCode, 200, 'the browser keeps its own session')
  const gone = await other.get('/auth/session')
  t.equal(gone.statusCode, 401, 'the other session is revoked')
  t.equal(gone.json().error_type, 'session_invalid')

  const body = await browser.post(`${P}/passwords/session/reset`, { organization_id: DEMO.org, password: NEW_PASSWORD, session_token: 'x' })
  t.equal(body.json().error_type, 'field_not_allowed', 'never from the body')

  ctx.emulator.emulator.clock.advance(6 * 60_000)
  const old = await browser.post(`${P}/passwords/session/reset`, { organization_id: DEMO.org, password: NEW_PASSWORD + '3' })
  t.equal(old.statusCode, 400)
  t.equal(old.json().error_type, 'session_too_old_to_reset_password')
  t.ok(browser.cookies.get(SESSION), 'a refused reset keeps the session')
})

flow('B2B discovery: authenticate, list organizations, exchange into one, create one', {}, async (t, ctx) => {
  const browser = await loggedIn(ctx)
  const res = await browser.post(`${P}/passwords/discovery/authenticate`, { email_address: DEMO.email, password: DEMO.password })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  const orgs = res.json().discovered_organizations as Array<{ organization: { organization_slug: string, organization_id: string } }>
  t.ok(orgs.length >= 2, 'member of several organizations')
  t.ok(browser.cookies.get(IST), 'IST cookie set')
  t.notOk(browser.cookies.get(SESSION), 'discovery replaces the session')

  const list = await browser.post(`${P}/discovery/organizations`, {})
  t.equal(list.statusCode, 200)
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/discovery/organizations').intermediate_session_token, browser.cookies.get(IST))
  assertNoTokens(t, list)

  const demoOrg = orgs.find((o) => o.organization.organization_slug === DEMO.org)!
  const exchanged = await browser.post(`${P}/discovery/intermediate_sessions/exchange`, { organization_id: demoOrg.organization.organization_id })
  t.equal(exchanged.statusCode, 200)
  assertNoTokens(t, exchanged)
  t.equal(exchanged.json().member_authenticated, true)
  t.ok(browser.cookies.get(SESSION))
  t.notOk(browser.cookies.get(IST), 'IST cookie replaced by session cookies')
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/discovery/intermediate_sessions/exchange').session_duration_minutes, 60)

  const withSession = await browser.post(`${P}/discovery/organizations`, {})
  t.equal(withSession.statusCode, 200)
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/discovery/organizations').session_token, browser.cookies.get(SESSION), 'or the session when no IST')

  const creator = new Browser(ctx.app)
  await creator.post(`${P}/passwords/discovery/authenticate`, { email_address: DEMO.email, password: DEMO.password })
  const created = await creator.post(`${P}/discovery/organizations/create`, { organization_name: 'Acme', organization_slug: 'acme-co' })
  t.equal(created.statusCode, 200)
  assertNoTokens(t, created)
  t.equal(created.json().organization.organization_slug, 'acme-co')
  t.ok(creator.cookies.get(SESSION))
  t.notOk(creator.cookies.get(IST))
  const dup = new Browser(ctx.app)
  await dup.post(`${P}/passwords/discovery/authenticate`, { email_address: DEMO.email, password: DEMO.password })
  const clash = await dup.post(`${P}/discovery/organizations/create`, { organization_name: 'Acme 2', organization_slug: 'acme-co' })
  t.equal(clash.statusCode, 400)
  t.equal(clash.json().error_type, 'organization_slug_already_used')

  const wrong = await new Browser(ctx.app).post(`${P}/passwords/discovery/authenticate`, { email_address: DEMO.email, password: 'not-the-password-7' })
  t.equal(wrong.statusCode, 401)
})

flow('an expired intermediate session expires the IST cookie', {}, async (t, ctx) => {
  const browser = new Browser(ctx.app)
  await browser.post(`${P}/passwords/discovery/authenticate`, { email_address: DEMO.email, password: DEMO.password })
  ctx.emulator.emulator.clock.advance(11 * 60_000)
  const res = await browser.post(`${P}/discovery/intermediate_sessions/exchange`, { organization_id: DEMO.org })
  t.equal(res.statusCode, 404)
  t.equal(res.json().error_type, 'intermediate_session_not_found')
  t.notOk(browser.cookies.get(IST))
})

flow('B2B discovery email reset: PKCE verifier from the cookie, IST cookie on success', {}, async (t, ctx) => {
  const browser = new Browser(ctx.app)
  await browser.post(`${P}/passwords/discovery/email/reset/start`, { email_address: DEMO.email })
  const verifier = browser.cookies.get(PKCE)
  const token = lastOutbox(ctx, 'discovery_reset_password').token!
  const res = await browser.post(`${P}/passwords/discovery/email/reset`, { password_reset_token: token, password: NEW_PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/passwords/discovery/email/reset').pkce_code_verifier, verifier)
  t.ok(res.json().discovered_organizations.length >= 1)
  t.ok(browser.cookies.get(IST))
  t.notOk(browser.cookies.get(PKCE))
})

flow('B2B sessions/exchange switches organization from the session cookie', {}, async (t, ctx) => {
  const browser = await loggedIn(ctx)
  const token = browser.cookies.get(SESSION)
  const res = await browser.post(`${P}/sessions/exchange`, { organization_id: 'mfa-org' })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.equal(upstreamBody(ctx.emulator, '/v1/b2b/sessions/exchange').session_token, token)
  t.equal(res.json().member_authenticated, false, 'the target organization requires MFA')
  t.ok(browser.cookies.get(IST))
})

flow('B2B strength check', {}, async (t, ctx) => {
  const strong = await new Browser(ctx.app).post(`${P}/passwords/strength_check`, { password: NEW_PASSWORD, email_address: DEMO.email })
  t.equal(strong.json().valid_password, true)
  const weak = await new Browser(ctx.app).post(`${P}/passwords/strength_check`, { password: 'password' })
  t.equal(weak.json().valid_password, false)
  const breached = await new Browser(ctx.app).post(`${P}/passwords/strength_check`, { password: 'password123!' })
  t.equal(breached.json().valid_password, false)
  t.equal(breached.json().breached_password, true)
})
