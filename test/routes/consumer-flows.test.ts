import t, { type Test } from 'tap'
import { assertUpstreamContract } from '../contract/assert.js'
import { assertNoTokens, Browser, buildTestApp, DEMO, loggedInBrowser, setCookies, upstreamBody, type TestApp } from '../helper.js'

// Every consumer password flow through the BFF with a browser-like client.

const SESSION = '__Host-stytch_session'
const JWT = '__Host-stytch_session_jwt'
const PKCE = '__Host-stytch_pkce'
const NEW_PASSWORD = 'a-brand-new-Passw0rd!-2026'

function flow (name: string, env: Record<string, string>, body: (t: Test, ctx: TestApp) => Promise<void>) {
  t.test(name, async (t) => {
    const ctx = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer', RESET_PASSWORD_REDIRECT_URL: 'https://app.example.com/reset', LOGIN_REDIRECT_URL: 'https://app.example.com/login', ...env })
    await body(t, ctx)
    assertUpstreamContract(t, ctx.emulator)
  })
}

const loggedIn = (ctx: TestApp) => loggedInBrowser(ctx.app, '/auth/passwords/authenticate', { email: DEMO.email, password: DEMO.password })

flow('consumer sign-up creates the user and logs in with cookies', {}, async (t, ctx) => {
  const browser = new Browser(ctx.app)
  const res = await browser.post('/auth/passwords', { email: 'new.user@example.com', password: NEW_PASSWORD, name: { first_name: 'Ada' }, untrusted_metadata: { plan: 'free' } })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.match(res.json().user_id, /^user-/)
  t.ok(browser.cookies.get(SESSION))
  t.ok(browser.cookies.get(JWT))
  t.equal(upstreamBody(ctx.emulator, '/v1/passwords').session_duration_minutes, 60)
  t.equal((await browser.get('/auth/session')).json().user.emails[0].email, 'new.user@example.com')

  const dup = await new Browser(ctx.app).post('/auth/passwords', { email: DEMO.email, password: NEW_PASSWORD })
  t.equal(dup.statusCode, 400)
  t.equal(dup.json().error_type, 'duplicate_email')
  const weak = await new Browser(ctx.app).post('/auth/passwords', { email: 'weak@example.com', password: 'password' })
  t.equal(weak.statusCode, 400)
  t.equal(weak.json().error_type, 'weak_password')
  const trusted = await new Browser(ctx.app).post('/auth/passwords', { email: 'x@example.com', password: NEW_PASSWORD, trusted_metadata: { admin: true } })
  t.equal(trusted.json().error_type, 'field_not_allowed')
})

flow('consumer login and wrong password', {}, async (t, ctx) => {
  const browser = await loggedIn(ctx)
  t.ok(browser.cookies.get(SESSION))
  const wrong = await new Browser(ctx.app).post('/auth/passwords/authenticate', { email: DEMO.email, password: 'not-it-at-all-9' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error_type, 'unauthorized_credentials')
})

flow('consumer existing-password reset turns the response into cookies', {}, async (t, ctx) => {
  const browser = new Browser(ctx.app)
  const res = await browser.post('/auth/passwords/existing_password/reset', { email: DEMO.email, existing_password: DEMO.password, new_password: NEW_PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  const cookies = setCookies(res)
  for (const name of [SESSION, JWT]) {
    const c = cookies.find((x) => x.name === name)
    t.ok(c?.value, `${name} set from the response`)
    t.equal(c?.attributes.httponly, true)
    t.equal(c?.attributes.secure, true)
    t.ok(Number(c?.attributes['max-age']) > 3500)
  }
  t.equal(upstreamBody(ctx.emulator, '/v1/passwords/existing_password/reset').session_duration_minutes, 60)
  t.equal((await browser.get('/auth/session')).statusCode, 200)
  const old = await new Browser(ctx.app).post('/auth/passwords/authenticate', { email: DEMO.email, password: DEMO.password })
  t.equal(old.statusCode, 401, 'the old password no longer works')
})

flow('consumer reset by email: hidden account existence, PKCE-bound link, session on success', { RESET_PASSWORD_EXPIRATION_MINUTES: '20' }, async (t, ctx) => {
  const answers = []
  for (const email of ['nobody@example.com', DEMO.email]) {
    const res = await new Browser(ctx.app).post('/auth/passwords/email/reset/start', { email }, { 'x-request-id': 'rid' })
    t.equal(res.statusCode, 200)
    answers.push([res.body, setCookies(res).map((c) => `${c.name} ${c.attributes['max-age']}`)])
  }
  t.same(answers[0], answers[1], 'same answer for an existing and a missing account')
  t.same(JSON.parse(answers[0]![0] as string), { status_code: 200, request_id: 'rid' })

  const browser = new Browser(ctx.app)
  await browser.post('/auth/passwords/email/reset/start', { email: DEMO.email, locale: 'fr' })
  const sent = upstreamBody(ctx.emulator, '/v1/passwords/email/reset/start')
  t.equal(sent.reset_password_redirect_url, 'https://app.example.com/reset')
  t.equal(sent.login_redirect_url, 'https://app.example.com/login')
  t.equal(sent.reset_password_expiration_minutes, 20)
  t.type(sent.code_challenge, 'string')
  t.equal(sent.locale, 'fr')
  const mail = ctx.emulator.emulator.outbox.filter((m) => m.kind === 'reset_password').at(-1)!
  t.match(mail.link, /^https:\/\/app\.example\.com\/reset\?/)

  const elsewhere = await new Browser(ctx.app).post('/auth/passwords/email/reset', { token: mail.token, password: NEW_PASSWORD })
  t.equal(elsewhere.statusCode, 400, 'the link does not complete in another browser')
  t.equal(elsewhere.json().error_type, 'pkce_expected_code_verifier')

  const res = await browser.post('/auth/passwords/email/reset', { token: mail.token, password: NEW_PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.equal(upstreamBody(ctx.emulator, '/v1/passwords/email/reset').code_verifier !== undefined, true)
  t.ok(browser.cookies.get(SESSION))
  t.notOk(browser.cookies.get(PKCE), 'the PKCE cookie is expired after use')
})

flow('consumer session reset from the cookie; 401 without it', {}, async (t, ctx) => {
  const other = await loggedIn(ctx)
  const browser = await loggedIn(ctx)
  const res = await browser.post('/auth/passwords/session/reset', { password: NEW_PASSWORD })
  t.equal(res.statusCode, 200)
  assertNoTokens(t, res)
  t.equal(upstreamBody(ctx.emulator, '/v1/passwords/session/reset').session_token, browser.cookies.get(SESSION))
  t.equal((await browser.get('/auth/session')).statusCode, 200)
  t.equal((await other.get('/auth/session')).statusCode, 401, 'other sessions revoked')
  const none = await new Browser(ctx.app).post('/auth/passwords/session/reset', { password: NEW_PASSWORD })
  t.equal(none.statusCode, 401)
  t.equal(none.json().error_type, 'session_missing')
})

flow('consumer strength check', {}, async (t, ctx) => {
  const res = await new Browser(ctx.app).post('/auth/passwords/strength_check', { password: NEW_PASSWORD, email: DEMO.email })
  t.equal(res.statusCode, 200)
  t.equal(res.json().valid_password, true)
  t.same(setCookies(res), [])
})
