import { createHash } from 'node:crypto'
import t from 'tap'
import { b2bLogin, DEMO_EMAIL, harness, T0 } from './fixtures/harness.js'

const NEW_PASSWORD = 'brand-new-Passphrase-77'
const challengeOf = (verifier: string) => createHash('sha256').update(verifier).digest('base64url')

t.test('B2B email reset: outbox link, PKCE, sessions revoked, token single-use', async (t) => {
  const h = await harness(t)
  const old = await b2bLogin(h)
  const verifier = 'v'.repeat(43)
  const start = await h.post('/v1/b2b/passwords/email/reset/start', {
    organization_id: 'demo-org',
    email_address: DEMO_EMAIL,
    reset_password_redirect_url: 'https://app.example.com/reset',
    code_challenge: challengeOf(verifier)
  })
  t.equal(start.status, 200)
  t.equal(start.body.member_id, old.member_id)
  t.match(start.body.member_email_id, /^member-email-test-/)
  const mail = h.app.emulator.outbox.at(-1)!
  t.match(mail, { kind: 'reset_password', to: DEMO_EMAIL, organization_id: old.organization_id, created_at: new Date(T0).toISOString() })
  t.equal(mail.link, `https://app.example.com/reset?stytch_token_type=multi_tenant_passwords&token=${mail.token}`)

  const noVerifier = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD })
  t.equal(noVerifier.status, 400)
  t.equal(noVerifier.body.error_type, 'pkce_expected_code_verifier')
  const mismatch = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD, code_verifier: 'w'.repeat(43) })
  t.equal(mismatch.body.error_type, 'pkce_mismatch')
  const weak = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: 'password', code_verifier: verifier })
  t.equal(weak.status, 400)
  t.equal(weak.body.error_type, 'weak_password')

  const ok = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD, code_verifier: verifier })
  t.equal(ok.status, 200)
  t.equal(ok.body.member_authenticated, true)
  t.equal(ok.body.organization_id, old.organization_id)
  t.equal(ok.body.member_email_id, start.body.member_email_id)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: old.session_token })).status, 404, 'old sessions revoked')
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: ok.body.session_token })).status, 200)
  const again = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD, code_verifier: verifier })
  t.equal(again.status, 401)
  t.equal(again.body.error_type, 'unable_to_auth_password_reset_token')
  const oldPassword = await h.post('/v1/b2b/passwords/authenticate', { organization_id: 'demo-org', email_address: DEMO_EMAIL, password: h.password })
  t.equal(oldPassword.status, 401)
  const crossOrg = await h.post('/v1/b2b/passwords/authenticate', { organization_id: 'mfa-org', email_address: DEMO_EMAIL, password: NEW_PASSWORD })
  t.equal(crossOrg.status, 200, 'passwords are cross-organization')
})

t.test('B2B email reset: unknown member, expiry, PKCE not expected, MFA org answers IST', async (t) => {
  const h = await harness(t)
  const unknown = await h.post('/v1/b2b/passwords/email/reset/start', { organization_id: 'demo-org', email_address: 'nobody@example.com' })
  t.equal(unknown.status, 404)
  t.equal(unknown.body.error_type, 'member_not_found')
  await h.post('/v1/b2b/passwords/email/reset/start', { organization_id: 'mfa-org', email_address: DEMO_EMAIL, reset_password_expiration_minutes: 5 })
  const mail = h.app.emulator.outbox.at(-1)!
  t.match(mail.link, /^http:\/\/localhost:3000\/reset-password\?stytch_token_type=multi_tenant_passwords&token=/)
  const unexpected = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD, code_verifier: 'x'.repeat(43) })
  t.equal(unexpected.body.error_type, 'pkce_did_not_expect_code_verifier')
  const ok = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD })
  t.equal(ok.body.member_authenticated, false)
  t.match(ok.body.intermediate_session_token, /\S{43}/)
  t.equal(ok.body.session_token, '')

  await h.post('/v1/b2b/passwords/email/reset/start', { organization_id: 'demo-org', email_address: DEMO_EMAIL, reset_password_expiration_minutes: 5 })
  const late = h.app.emulator.outbox.at(-1)!
  h.app.emulator.clock.advance(5 * 60_000 + 1)
  const expired = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: late.token, password: NEW_PASSWORD })
  t.equal(expired.body.error_type, 'unable_to_auth_password_reset_token')
  const range = await h.post('/v1/b2b/passwords/email/reset/start', { organization_id: 'demo-org', email_address: DEMO_EMAIL, reset_password_expiration_minutes: 4 })
  t.equal(range.status, 400)
})

t.test('B2B existing_password/reset', async (t) => {
  const h = await harness(t)
  const old = await b2bLogin(h)
  const base = { organization_id: 'demo-org', email_address: DEMO_EMAIL }
  const wrong = await h.post('/v1/b2b/passwords/existing_password/reset', { ...base, existing_password: 'not-it-at-all', new_password: NEW_PASSWORD })
  t.equal(wrong.status, 401)
  t.equal(wrong.body.error_type, 'unauthorized_credentials')
  const weak = await h.post('/v1/b2b/passwords/existing_password/reset', { ...base, existing_password: h.password, new_password: 'short' })
  t.equal(weak.body.error_type, 'weak_password')
  const ok = await h.post('/v1/b2b/passwords/existing_password/reset', { ...base, existing_password: h.password, new_password: NEW_PASSWORD })
  t.equal(ok.status, 200)
  t.equal(ok.body.member_authenticated, true)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: old.session_token })).status, 404)
})

t.test('B2B session/reset: 5-minute rule, other sessions revoked, this one kept', async (t) => {
  const h = await harness(t)
  const other = await b2bLogin(h)
  h.app.emulator.clock.advance(60_000)
  const mine = await b2bLogin(h)
  const body = { organization_id: 'demo-org', password: NEW_PASSWORD }
  const none = await h.post('/v1/b2b/passwords/session/reset', body)
  t.equal(none.body.error_type, 'no_session_arguments')
  const wrongOrg = await h.post('/v1/b2b/passwords/session/reset', { ...body, organization_id: 'mfa-org', session_token: mine.session_token })
  t.equal(wrongOrg.status, 400)
  h.app.emulator.clock.advance(5 * 60_000 + 1000)
  const stale = await h.post('/v1/b2b/passwords/session/reset', { ...body, session_token: mine.session_token })
  t.equal(stale.status, 400)
  t.equal(stale.body.error_type, 'session_too_old_to_reset_password')

  const fresh = await b2bLogin(h)
  const ok = await h.post('/v1/b2b/passwords/session/reset', { ...body, session_jwt: fresh.session_jwt })
  t.equal(ok.status, 200)
  t.equal(ok.body.member_session.member_session_id, fresh.member_session.member_session_id, 'same session')
  t.equal(ok.body.member_authenticated, true)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: fresh.session_token })).status, 200, 'this session kept')
  for (const s of [other, mine]) {
    t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: s.session_token })).status, 404, 'other sessions revoked')
  }
  t.equal((await h.post('/v1/b2b/passwords/authenticate', { organization_id: 'demo-org', email_address: DEMO_EMAIL, password: NEW_PASSWORD })).status, 200)
})

t.test('discovery: authenticate, list, exchange, create organization', async (t) => {
  const h = await harness(t)
  const wrong = await h.post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: 'wrong-password-9' })
  t.equal(wrong.body.error_type, 'unauthorized_credentials')
  const disc = await h.post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: h.password })
  t.equal(disc.status, 200)
  t.equal(disc.body.email_address, DEMO_EMAIL)
  const ist = disc.body.intermediate_session_token
  const orgs = disc.body.discovered_organizations as Array<Record<string, any>>
  t.same(orgs.map((o) => o.organization.organization_slug).sort(), ['demo-org', 'mfa-org'])
  const demo = orgs.find((o) => o.organization.organization_slug === 'demo-org')!
  const mfa = orgs.find((o) => o.organization.organization_slug === 'mfa-org')!
  t.match(demo, { member_authenticated: true, membership: { type: 'active_member', member: { email_address: DEMO_EMAIL } } })
  t.notOk('mfa_required' in demo)
  t.match(mfa, { member_authenticated: false, mfa_required: { member_options: { mfa_phone_number: '+15005550006' } } })

  const list = await h.post('/v1/b2b/discovery/organizations', { intermediate_session_token: ist })
  t.equal(list.status, 200)
  t.equal(list.body.discovered_organizations.length, 2)
  t.notOk('organization_id_hint' in list.body)
  t.equal((await h.post('/v1/b2b/discovery/organizations', {})).body.error_type, 'no_session_arguments')
  t.equal((await h.post('/v1/b2b/discovery/organizations', { intermediate_session_token: 'nope' })).body.error_type, 'intermediate_session_not_found')

  const exchanged = await h.post('/v1/b2b/discovery/intermediate_sessions/exchange', { intermediate_session_token: ist, organization_id: demo.organization.organization_id, session_duration_minutes: 15 })
  t.equal(exchanged.status, 200)
  t.equal(exchanged.body.member_authenticated, true)
  t.equal(Date.parse(exchanged.body.member_session.expires_at) - T0, 15 * 60_000)
  const reused = await h.post('/v1/b2b/discovery/intermediate_sessions/exchange', { intermediate_session_token: ist, organization_id: 'demo-org' })
  t.equal(reused.status, 404, 'the IST is consumed')
  t.equal(reused.body.error_type, 'intermediate_session_not_found')

  const bySession = await h.post('/v1/b2b/discovery/organizations', { session_token: exchanged.body.session_token })
  t.equal(bySession.body.discovered_organizations.length, 2)

  const ist2 = (await h.post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: h.password })).body.intermediate_session_token
  const toMfa = await h.post('/v1/b2b/discovery/intermediate_sessions/exchange', { intermediate_session_token: ist2, organization_id: 'mfa-org' })
  t.equal(toMfa.body.member_authenticated, false)
  t.equal(toMfa.body.intermediate_session_token, ist2, 'the same IST comes back while MFA is due')
  t.equal(toMfa.body.mfa_required.secondary_auth_initiated, 'sms_otp')

  const ist3 = (await h.post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: h.password })).body.intermediate_session_token
  const created = await h.post('/v1/b2b/discovery/organizations/create', { intermediate_session_token: ist3, organization_name: 'Acme', organization_slug: 'acme' })
  t.equal(created.status, 200)
  t.match(created.body, { member_authenticated: true, organization: { organization_slug: 'acme', organization_name: 'Acme' }, member: { is_admin: true } })
  t.same(created.body.member_session.roles, ['stytch_member', 'stytch_admin'])
  const ist4 = (await h.post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: h.password })).body.intermediate_session_token
  const dup = await h.post('/v1/b2b/discovery/organizations/create', { intermediate_session_token: ist4, organization_slug: 'acme' })
  t.equal(dup.status, 400)
  t.equal(dup.body.error_type, 'organization_slug_already_used')
  t.equal((await h.post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: h.password })).body.discovered_organizations.length, 3)

  const orgIst = (await b2bLogin(h, 'mfa-org')).intermediate_session_token
  const orgScoped = await h.post('/v1/b2b/discovery/organizations/create', { intermediate_session_token: orgIst, organization_slug: 'other' })
  t.equal(orgScoped.body.error_type, 'invalid_intermediate_session_token_for_organization')
  const hint = await h.post('/v1/b2b/discovery/organizations', { intermediate_session_token: orgIst })
  t.ok(hint.body.organization_id_hint)
  h.app.emulator.clock.advance(10 * 60_000)
  t.equal((await h.post('/v1/b2b/discovery/organizations', { intermediate_session_token: orgIst })).body.error_type, 'intermediate_session_not_found', 'ISTs live 10 minutes')
})

t.test('discovery email reset: PKCE, IST and organizations', async (t) => {
  const h = await harness(t)
  const old = await b2bLogin(h)
  const verifier = 'discovery-verifier-'.padEnd(43, 'x')
  const unknown = await h.post('/v1/b2b/passwords/discovery/email/reset/start', { email_address: 'nobody@example.com' })
  t.equal(unknown.body.error_type, 'member_not_found')
  const start = await h.post('/v1/b2b/passwords/discovery/email/reset/start', {
    email_address: DEMO_EMAIL,
    reset_password_redirect_url: 'https://app.example.com/reset?x=1',
    discovery_redirect_url: 'https://app.example.com/discovery',
    pkce_code_challenge: challengeOf(verifier)
  })
  t.same(Object.keys(start.body).sort(), ['request_id', 'status_code'])
  const mail = h.app.emulator.outbox.at(-1)!
  t.match(mail, { kind: 'discovery_reset_password', to: DEMO_EMAIL })
  t.equal(mail.link, `https://app.example.com/reset?x=1&stytch_token_type=discovery&token=${mail.token}`)
  const mismatch = await h.post('/v1/b2b/passwords/discovery/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD, pkce_code_verifier: 'nope'.padEnd(43, 'n') })
  t.equal(mismatch.body.error_type, 'pkce_mismatch')
  const orgToken = await h.post('/v1/b2b/passwords/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD, code_verifier: verifier })
  t.equal(orgToken.body.error_type, 'unable_to_auth_password_reset_token', 'a discovery token is not an org-scoped one')
  const ok = await h.post('/v1/b2b/passwords/discovery/email/reset', { password_reset_token: mail.token, password: NEW_PASSWORD, pkce_code_verifier: verifier })
  t.equal(ok.status, 200)
  t.match(ok.body, { email_address: DEMO_EMAIL, intermediate_session_token: /\S{43}/ })
  t.equal(ok.body.discovered_organizations.length, 2)
  t.notOk('session_token' in ok.body)
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: old.session_token })).status, 404)
})

t.test('sessions/exchange switches organization (MFA asked where required)', async (t) => {
  const h = await harness(t)
  const login = await b2bLogin(h)
  const toMfa = await h.post('/v1/b2b/sessions/exchange', { organization_id: 'mfa-org', session_token: login.session_token })
  t.equal(toMfa.status, 200)
  t.equal(toMfa.body.member_authenticated, false)
  t.match(toMfa.body.intermediate_session_token, /\S{43}/)
  const same = await h.post('/v1/b2b/sessions/exchange', { organization_id: 'demo-org', session_jwt: login.session_jwt, session_duration_minutes: 90 })
  t.equal(same.body.member_authenticated, true)
  t.equal(Date.parse(same.body.member_session.expires_at) - T0, 90 * 60_000)
  const none = await h.post('/v1/b2b/sessions/exchange', { organization_id: 'demo-org' })
  t.equal(none.body.error_type, 'no_session_arguments')
})

t.test('MFA: SMS OTP, TOTP, recovery codes finish a password login', async (t) => {
  const h = await harness(t)
  const store = h.app.emulator.store
  const member = store.findMember(DEMO_EMAIL, 'mfa-org')!
  t.ok(member)
  t.equal(store.recoveryCodes(member.member_id).length, 10)

  // SMS: the code sent at login, then a resend replacing it.
  const login = await b2bLogin(h, 'mfa-org')
  const first = h.app.emulator.outbox.at(-1)!.code!
  const base = { organization_id: login.organization_id, member_id: login.member_id }
  const send = await h.post('/v1/b2b/otps/sms/send', { ...base, intermediate_session_token: login.intermediate_session_token })
  t.equal(send.status, 200)
  t.equal(send.body.member.mfa_phone_number, '+15005550006')
  const resent = h.app.emulator.outbox.at(-1)!
  t.match(resent, { kind: 'sms_otp', to: '+15005550006', code: /^\d{6}$/, organization_id: login.organization_id })
  if (resent.code !== first) {
    const stale = await h.post('/v1/b2b/otps/sms/authenticate', { ...base, code: first, intermediate_session_token: login.intermediate_session_token })
    t.equal(stale.body.error_type, 'otp_code_not_found', 'a resend invalidates the first code')
  }
  const mismatch = await h.post('/v1/b2b/otps/sms/send', { ...base, mfa_phone_number: '+15005550000' })
  t.equal(mismatch.status, 400)
  const sms = await h.post('/v1/b2b/otps/sms/authenticate', { ...base, code: resent.code, intermediate_session_token: login.intermediate_session_token, session_duration_minutes: 30 })
  t.equal(sms.status, 200)
  t.notOk('intermediate_session_token' in sms.body)
  t.equal(Date.parse(sms.body.member_session.expires_at) - T0, 30 * 60_000)
  t.same(sms.body.member_session.authentication_factors.map((f: any) => f.type), ['password', 'otp'])
  t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: sms.body.session_token })).status, 200)
  const reused = await h.post('/v1/b2b/otps/sms/authenticate', { ...base, code: resent.code, intermediate_session_token: login.intermediate_session_token })
  t.equal(reused.body.error_type, 'intermediate_session_not_found', 'the IST is consumed')

  // TOTP, at Stytch's path and the alias.
  for (const path of ['/v1/b2b/totp/authenticate', '/v1/b2b/totps/authenticate']) {
    const ist = (await b2bLogin(h, 'mfa-org')).intermediate_session_token
    const bad = await h.post(path, { ...base, code: store.totpCode(member.member_id) === '000000' ? '111111' : '000000', intermediate_session_token: ist })
    t.equal(bad.status, 404)
    t.equal(bad.body.error_type, 'totp_code_not_found')
    const ok = await h.post(path, { ...base, code: store.totpCode(member.member_id), intermediate_session_token: ist })
    t.equal(ok.status, 200, path)
    t.match(ok.body.member_session.authentication_factors, [{ type: 'password' }, { type: 'totp', delivery_method: 'authenticator_app', authenticator_app_factor: { totp_id: member.totp!.totp_registration_id } }])
  }

  // Recovery codes are single-use.
  const ist = (await b2bLogin(h, 'mfa-org')).intermediate_session_token
  const code = store.recoveryCodes(member.member_id)[0]!
  const rec = await h.post('/v1/b2b/recovery_codes/recover', { ...base, recovery_code: code, intermediate_session_token: ist })
  t.equal(rec.status, 200)
  t.equal(rec.body.recovery_codes_remaining, 9)
  t.match(rec.body.member_session.authentication_factors, [{ type: 'password' }, { type: 'recovery_codes', delivery_method: 'recovery_code' }])
  const ist2 = (await b2bLogin(h, 'mfa-org')).intermediate_session_token
  const again = await h.post('/v1/b2b/recovery_codes/recover', { ...base, recovery_code: code, intermediate_session_token: ist2 })
  t.equal(again.body.error_type, 'recovery_code_not_found')

  // An IST for another member or none at all.
  const demoIst = await h.post('/v1/b2b/otps/sms/authenticate', { ...base, code: '123456' })
  t.equal(demoIst.body.error_type, 'no_session_arguments')
  const wrongMember = await h.post('/v1/b2b/otps/sms/authenticate', { organization_id: 'mfa-org', member_id: 'member-test-nope', code: '123456', intermediate_session_token: ist2 })
  t.equal(wrongMember.body.error_type, 'member_not_found')
})

t.test('MFA as a step-up on an existing session: phone enrolled at send, session extended', async (t) => {
  const h = await harness(t)
  const login = await b2bLogin(h)
  const base = { organization_id: 'demo-org', member_id: login.member_id }
  t.equal((await h.post('/v1/b2b/otps/sms/send', base)).body.error_type, 'no_mfa_phone_number')
  const send = await h.post('/v1/b2b/otps/sms/send', { ...base, mfa_phone_number: '+15005550001', session_token: login.session_token })
  t.equal(send.body.member.mfa_phone_number, '+15005550001')
  const code = h.app.emulator.outbox.at(-1)!.code!
  const both = await h.post('/v1/b2b/otps/sms/authenticate', { ...base, code, session_token: login.session_token, intermediate_session_token: 'x' })
  t.equal(both.body.error_type, 'too_many_session_arguments')
  const ok = await h.post('/v1/b2b/otps/sms/authenticate', { ...base, code, session_token: login.session_token, session_duration_minutes: 240 })
  t.equal(ok.status, 200)
  t.equal(ok.body.member_session.member_session_id, login.member_session.member_session_id)
  t.equal(Date.parse(ok.body.member_session.expires_at) - T0, 240 * 60_000)
  t.match(ok.body.member_session.authentication_factors, [{ type: 'password' }, { type: 'otp', phone_number_factor: { phone_number: '+15005550001' } }])
})

t.test('sessions/get lists the member\'s live sessions; revoke by member_id ends them all', async (t) => {
  const h = await harness(t)
  const a = await b2bLogin(h)
  const b = await b2bLogin(h)
  const elsewhere = await b2bLogin(h, 'mfa-org') // another member (same email, other organization): IST only
  t.equal(elsewhere.member_authenticated, false)
  const url = `/v1/b2b/sessions?organization_id=${a.organization_id}&member_id=${a.member_id}`
  t.equal((await h.get(url)).status, 401, 'HTTP Basic required')
  const listed = await h.get(url, { authorized: true })
  t.equal(listed.status, 200)
  t.same(listed.body.member_sessions.map((s: { member_session_id: string }) => s.member_session_id),
    [a.member_session.member_session_id, b.member_session.member_session_id], 'oldest first')
  t.notMatch(JSON.stringify(listed.body), /session_token|session_jwt/, 'no token in a list')

  t.equal((await h.post('/v1/b2b/sessions/revoke', { member_session_id: a.member_session.member_session_id })).status, 200)
  t.equal((await h.get(url, { authorized: true })).body.member_sessions.length, 1, 'a revoked session is not listed')
  h.app.emulator.clock.advance(61 * 60_000)
  t.same((await h.get(url, { authorized: true })).body.member_sessions, [], 'nor an expired one')

  const c = await b2bLogin(h)
  const d = await b2bLogin(h)
  t.equal((await h.post('/v1/b2b/sessions/revoke', { member_id: c.member_id })).status, 200)
  for (const s of [c, d]) t.equal((await h.post('/v1/b2b/sessions/authenticate', { session_token: s.session_token })).body.error_type, 'session_not_found')

  t.equal((await h.get(`/v1/b2b/sessions?organization_id=${elsewhere.organization_id}&member_id=${a.member_id}`, { authorized: true })).body.error_type, 'member_not_found', 'member of another organization')
  t.equal((await h.get(`/v1/b2b/sessions?member_id=${a.member_id}`, { authorized: true })).status, 400, 'organization_id required')
})
