import { createHash } from 'node:crypto'
import t from 'tap'
import { consumerLogin, DEMO_EMAIL, harness, T0 } from './fixtures/harness.js'

const NEW_PASSWORD = 'brand-new-Passphrase-77'

t.test('passwords (create): session only with session_duration_minutes; duplicate and weak refused', async (t) => {
  const h = await harness(t)
  const plain = await h.post('/v1/passwords', { email: 'new@example.com', password: NEW_PASSWORD })
  t.equal(plain.status, 200)
  t.match(plain.body, { user_id: /^user-test-/, email_id: /^email-test-/, session_token: '', session_jwt: '', user: { emails: [{ email: 'new@example.com' }], password: { requires_reset: false } } })
  t.notOk('session' in plain.body)
  const withSession = await h.post('/v1/passwords', { email: 'other@example.com', password: NEW_PASSWORD, session_duration_minutes: 5 })
  t.equal(Date.parse(withSession.body.session.expires_at) - T0, 5 * 60_000)
  const dup = await h.post('/v1/passwords', { email: 'NEW@example.com', password: NEW_PASSWORD })
  t.equal(dup.status, 400)
  t.equal(dup.body.error_type, 'duplicate_email')
  for (const password of ['password', 'short', 'password123!']) {
    const weak = await h.post('/v1/passwords', { email: `${password.length}@example.com`, password })
    t.equal(weak.body.error_type, 'weak_password', password)
  }
  t.equal((await h.post('/v1/passwords/authenticate', { email: 'new@example.com', password: NEW_PASSWORD })).status, 200)
})

t.test('authenticate with an existing session extends it', async (t) => {
  const h = await harness(t)
  const login = await consumerLogin(h)
  const again = await h.post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: h.password, session_token: login.session_token, session_duration_minutes: 120 })
  t.equal(again.body.session.session_id, login.session.session_id)
  t.equal(Date.parse(again.body.session.expires_at) - T0, 120 * 60_000)
})

t.test('email reset: outbox, PKCE, all sessions revoked, single use', async (t) => {
  const h = await harness(t)
  const old = await consumerLogin(h)
  const unknown = await h.post('/v1/passwords/email/reset/start', { email: 'nobody@example.com' })
  t.equal(unknown.status, 404)
  t.equal(unknown.body.error_type, 'email_not_found')
  const verifier = 'consumer-verifier'.padEnd(43, 'c')
  const start = await h.post('/v1/passwords/email/reset/start', {
    email: DEMO_EMAIL,
    reset_password_redirect_url: 'http://localhost:5173/reset',
    code_challenge: createHash('sha256').update(verifier).digest('base64url')
  })
  t.equal(start.status, 200)
  t.equal(start.body.user_id, old.user_id)
  const mail = h.app.emulator.outbox.at(-1)!
  t.equal(mail.link, `http://localhost:5173/reset?stytch_token_type=reset_password&token=${mail.token}`)
  t.notOk('organization_id' in mail)
  t.equal((await h.post('/v1/passwords/email/reset', { token: mail.token, password: NEW_PASSWORD })).body.error_type, 'pkce_expected_code_verifier')
  t.equal((await h.post('/v1/passwords/email/reset', { token: mail.token, password: NEW_PASSWORD, code_verifier: 'x'.repeat(43) })).body.error_type, 'pkce_mismatch')
  const noSession = await h.post('/v1/passwords/email/reset', { token: mail.token, password: NEW_PASSWORD, code_verifier: verifier })
  t.equal(noSession.status, 200)
  t.equal(noSession.body.session_token, '')
  t.notOk('session' in noSession.body)
  t.equal((await h.post('/v1/sessions/authenticate', { session_token: old.session_token })).status, 404, 'sessions revoked')
  const reused = await h.post('/v1/passwords/email/reset', { token: mail.token, password: NEW_PASSWORD, code_verifier: verifier })
  t.equal(reused.status, 401)
  t.equal(reused.body.error_type, 'unable_to_auth_password_reset_token')

  await h.post('/v1/passwords/email/reset/start', { email: DEMO_EMAIL })
  const second = h.app.emulator.outbox.at(-1)!
  const withSession = await h.post('/v1/passwords/email/reset', { token: second.token, password: h.password, session_duration_minutes: 60 })
  t.equal(withSession.status, 200)
  t.ok(withSession.body.session)
  const b2bToken = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: second.token, password: NEW_PASSWORD })
  t.equal(b2bToken.body.error_type, 'unable_to_auth_password_reset_token')
})

t.test('existing_password/reset', async (t) => {
  const h = await harness(t)
  const old = await consumerLogin(h)
  const wrong = await h.post('/v1/passwords/existing_password/reset', { email: DEMO_EMAIL, existing_password: 'not-the-password', new_password: NEW_PASSWORD })
  t.equal(wrong.status, 401)
  const weak = await h.post('/v1/passwords/existing_password/reset', { email: DEMO_EMAIL, existing_password: h.password, new_password: '12345678' })
  t.equal(weak.body.error_type, 'weak_password')
  const ok = await h.post('/v1/passwords/existing_password/reset', { email: DEMO_EMAIL, existing_password: h.password, new_password: NEW_PASSWORD, session_duration_minutes: 60 })
  t.equal(ok.status, 200)
  t.ok(ok.body.session)
  t.equal((await h.post('/v1/sessions/authenticate', { session_token: old.session_token })).status, 404)
})

t.test('session/reset: 5-minute rule, other sessions revoked, this one kept', async (t) => {
  const h = await harness(t)
  const other = await consumerLogin(h)
  const mine = await consumerLogin(h)
  h.app.emulator.clock.advance(5 * 60_000 + 1)
  const stale = await h.post('/v1/passwords/session/reset', { password: NEW_PASSWORD, session_token: mine.session_token })
  t.equal(stale.status, 400)
  t.equal(stale.body.error_type, 'session_too_old_to_reset_password')
  const fresh = await consumerLogin(h)
  const ok = await h.post('/v1/passwords/session/reset', { password: NEW_PASSWORD, session_jwt: fresh.session_jwt })
  t.equal(ok.status, 200)
  t.equal(ok.body.session.session_id, fresh.session.session_id)
  t.equal((await h.post('/v1/sessions/authenticate', { session_token: fresh.session_token })).status, 200)
  for (const s of [other, mine]) t.equal((await h.post('/v1/sessions/authenticate', { session_token: s.session_token })).status, 404)
  t.equal((await h.post('/v1/passwords/session/reset', { password: NEW_PASSWORD })).body.error_type, 'no_session_arguments')
})

t.test('sessions/get lists the user\'s live sessions', async (t) => {
  const h = await harness(t)
  const a = await consumerLogin(h)
  const b = await consumerLogin(h)
  await consumerLogin(h, {}) // no session_duration_minutes: no session
  const url = `/v1/sessions?user_id=${a.user_id}`
  const listed = await h.get(url, { authorized: true })
  t.equal(listed.status, 200)
  t.same(listed.body.sessions.map((s: { session_id: string }) => s.session_id), [a.session.session_id, b.session.session_id])
  t.notMatch(JSON.stringify(listed.body), /session_token|session_jwt/)
  await h.post('/v1/sessions/revoke', { session_id: b.session.session_id })
  t.same((await h.get(url, { authorized: true })).body.sessions.map((s: { session_id: string }) => s.session_id), [a.session.session_id])
  t.equal((await h.get('/v1/sessions?user_id=user-test-nobody', { authorized: true })).body.error_type, 'user_not_found')
  t.equal((await h.get('/v1/sessions', { authorized: true })).status, 400, 'user_id required')
})
