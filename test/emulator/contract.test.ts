/**
 * Contract: every 200 the emulator gives, on every emulated endpoint, validates against Stytch's
 * OpenAPI subset (MFA endpoints: test/contract/mfa-fields.ts). Every request this tour sends also
 * validates against the request schema with unknown fields forbidden.
 */
import t from 'tap'
import { spec, validateRequest, validateResponse } from '../contract/openapi.js'
import { b2bLogin, DEMO_EMAIL, harness, type Harness } from './fixtures/harness.js'

/** In the subset but not emulated (server-to-server only). */
const NOT_EMULATED = ['/v1/passwords/migrate', '/v1/b2b/passwords/migrate', '/v1/b2b/passwords/email/require_reset']
const SESSION_LISTS = ['/v1/b2b/sessions', '/v1/sessions']
const MFA_PATHS = ['/v1/b2b/otps/sms/send', '/v1/b2b/otps/sms/authenticate', '/v1/b2b/totp/authenticate', '/v1/b2b/totps/authenticate', '/v1/b2b/recovery_codes/recover']

async function tour (h: Harness, sent: Array<{ method?: 'GET'; path: string; body: unknown }>): Promise<void> {
  const post = async (path: string, body: Record<string, unknown>) => {
    sent.push({ path, body })
    const res = await h.post(path, body)
    if (res.status !== 200) throw new Error(`${path}: ${JSON.stringify(res.body)}`)
    return res.body
  }
  const list = async (path: string, query: Record<string, string>) => {
    sent.push({ method: 'GET', path, body: query })
    const res = await h.get(`${path}?${new URLSearchParams(query)}`, { authorized: true })
    if (res.status !== 200) throw new Error(`${path}: ${JSON.stringify(res.body)}`)
    return res.body
  }
  const pw = h.password
  const NEW = 'brand-new-Passphrase-77'
  const { projectId } = h.app.emulator
  const lastToken = () => h.app.emulator.outbox.at(-1)!.token!

  // consumer
  await post('/v1/passwords', { email: 'tour@example.com', password: NEW })
  await post('/v1/passwords', { email: 'tour2@example.com', password: NEW, session_duration_minutes: 60, session_custom_claims: { a: 1 } })
  await post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: pw })
  const user = await post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: pw, session_duration_minutes: 60 })
  await post('/v1/passwords/strength_check', { password: 'password' })
  await post('/v1/passwords/strength_check', { password: pw, email: DEMO_EMAIL })
  await post('/v1/sessions/authenticate', { session_token: user.session_token, session_duration_minutes: 60 })
  await post('/v1/passwords/session/reset', { password: NEW, session_token: user.session_token })
  await post('/v1/passwords/existing_password/reset', { email: DEMO_EMAIL, existing_password: NEW, new_password: pw, session_duration_minutes: 60 })
  await post('/v1/passwords/email/reset/start', { email: DEMO_EMAIL, reset_password_redirect_url: 'http://localhost/reset', reset_password_expiration_minutes: 30 })
  await post('/v1/passwords/email/reset', { token: lastToken(), password: pw })
  await post('/v1/passwords/email/reset/start', { email: DEMO_EMAIL })
  const reset = await post('/v1/passwords/email/reset', { token: lastToken(), password: pw, session_duration_minutes: 60 })
  const second = await post('/v1/passwords/authenticate', { email: DEMO_EMAIL, password: pw, session_duration_minutes: 60 })
  const listed = await list('/v1/sessions', { user_id: reset.user_id })
  if (listed.sessions.length !== 2) throw new Error('GET /v1/sessions should list the two live sessions')
  await post('/v1/sessions/revoke', { session_id: second.session.session_id })
  await post('/v1/sessions/revoke', { session_jwt: reset.session_jwt })
  await h.get(`/v1/sessions/jwks/${projectId}`)

  // B2B passwords and sessions
  await post('/v1/b2b/passwords/strength_check', { password: 'password', email_address: DEMO_EMAIL })
  await post('/v1/b2b/passwords/strength_check', { password: pw })
  const member = await post('/v1/b2b/passwords/authenticate', { organization_id: 'demo-org', email_address: DEMO_EMAIL, password: pw })
  const mfa = await post('/v1/b2b/passwords/authenticate', { organization_id: 'mfa-org', email_address: DEMO_EMAIL, password: pw })
  await post('/v1/b2b/sessions/authenticate', { session_jwt: member.session_jwt, session_duration_minutes: 60 })
  await post('/v1/b2b/passwords/session/reset', { organization_id: 'demo-org', password: NEW, session_token: member.session_token })
  await post('/v1/b2b/passwords/existing_password/reset', { organization_id: 'demo-org', email_address: DEMO_EMAIL, existing_password: NEW, new_password: pw })
  await post('/v1/b2b/passwords/existing_password/reset', { organization_id: 'mfa-org', email_address: DEMO_EMAIL, existing_password: pw, new_password: pw })
  await post('/v1/b2b/passwords/email/reset/start', { organization_id: 'demo-org', email_address: DEMO_EMAIL })
  await post('/v1/b2b/passwords/email/reset', { password_reset_token: lastToken(), password: pw })
  await post('/v1/b2b/passwords/email/reset/start', { organization_id: 'mfa-org', email_address: DEMO_EMAIL })
  await post('/v1/b2b/passwords/email/reset', { password_reset_token: lastToken(), password: pw })
  const session = await b2bLogin(h)
  await post('/v1/b2b/sessions/exchange', { organization_id: 'mfa-org', session_token: session.session_token })
  await post('/v1/b2b/sessions/exchange', { organization_id: 'demo-org', session_token: session.session_token })
  const members = await list('/v1/b2b/sessions', { organization_id: session.organization_id, member_id: session.member_id })
  if (members.member_sessions.length === 0) throw new Error('GET /v1/b2b/sessions listed no session')
  await post('/v1/b2b/sessions/revoke', { member_session_id: session.member_session.member_session_id })
  await post('/v1/b2b/sessions/revoke', { member_id: session.member_id })
  await h.get(`/v1/b2b/sessions/jwks/${projectId}`)

  // discovery
  const disc = await post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: pw })
  await post('/v1/b2b/discovery/organizations', { intermediate_session_token: disc.intermediate_session_token })
  await post('/v1/b2b/discovery/organizations', { intermediate_session_token: mfa.intermediate_session_token })
  const viaIst = await post('/v1/b2b/discovery/intermediate_sessions/exchange', { intermediate_session_token: disc.intermediate_session_token, organization_id: 'demo-org' })
  await post('/v1/b2b/discovery/organizations', { session_token: viaIst.session_token })
  const disc2 = await post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: pw })
  await post('/v1/b2b/discovery/intermediate_sessions/exchange', { intermediate_session_token: disc2.intermediate_session_token, organization_id: 'mfa-org' })
  const disc3 = await post('/v1/b2b/passwords/discovery/authenticate', { email_address: DEMO_EMAIL, password: pw })
  await post('/v1/b2b/discovery/organizations/create', { intermediate_session_token: disc3.intermediate_session_token, organization_name: 'Tour', organization_slug: 'tour' })
  await post('/v1/b2b/passwords/discovery/email/reset/start', { email_address: DEMO_EMAIL, discovery_redirect_url: 'http://localhost/discovery' })
  await post('/v1/b2b/passwords/discovery/email/reset', { password_reset_token: lastToken(), password: pw })

  // MFA
  const store = h.app.emulator.store
  const ids = { organization_id: mfa.organization_id, member_id: mfa.member_id }
  await post('/v1/b2b/otps/sms/send', { ...ids, intermediate_session_token: mfa.intermediate_session_token })
  await post('/v1/b2b/otps/sms/authenticate', { ...ids, code: h.app.emulator.outbox.at(-1)!.code!, intermediate_session_token: mfa.intermediate_session_token })
  for (const path of ['/v1/b2b/totp/authenticate', '/v1/b2b/totps/authenticate']) {
    const ist = (await b2bLogin(h, 'mfa-org')).intermediate_session_token
    await post(path, { ...ids, code: store.totpCode(mfa.member_id), intermediate_session_token: ist, session_duration_minutes: 60 })
  }
  const ist = (await b2bLogin(h, 'mfa-org')).intermediate_session_token
  await post('/v1/b2b/recovery_codes/recover', { ...ids, recovery_code: store.recoveryCodes(mfa.member_id)[0]!, intermediate_session_token: ist })
}

t.test('every 200 matches the response schema; every request the request schema', async (t) => {
  const h = await harness(t)
  const sent: Array<{ method?: 'GET'; path: string; body: unknown }> = []
  await tour(h, sent)
  for (const { method = 'POST', path, body } of sent) t.same(validateRequest(method, path, body, { forbidUnknown: true }), [], `request ${method} ${path}`)

  const covered = new Set<string>()
  for (const { method, path, body } of h.seen) {
    const template = (path.split('?')[0] ?? path).replace(/\/jwks\/[^/]+$/, '/jwks/{project_id}')
    covered.add(`${method} ${template}`)
    t.same(validateResponse(method, path, 200, body), [], `response ${method} ${path}`)
  }
  const expected = [
    ...Object.entries(spec.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`)),
    ...MFA_PATHS.map((p) => `POST ${p}`),
    ...SESSION_LISTS.map((p) => `GET ${p}`)
  ].filter((op) => !NOT_EMULATED.some((p) => op.endsWith(` ${p}`)))
  for (const op of expected) t.ok(covered.has(op), `tour covers ${op}`)
})

t.test('the validators catch what they should', async (t) => {
  t.not(validateResponse('POST', '/v1/passwords/authenticate', 200, { status_code: 200, request_id: 'r', session: null }).length, 0, 'null and missing fields fail')
  t.match(validateRequest('POST', '/v1/passwords/authenticate', { email: 'a', password: 'b', session_duration_minute: 5 }, { forbidUnknown: true }), [/session_duration_minute/])
  t.same(validateRequest('POST', '/v1/passwords/authenticate', { email: 'a', password: 'b', extra: 1 }), [], 'loose by default, as Stytch')
  t.match(validateRequest('POST', '/v1/b2b/totp/authenticate', { organization_id: 'o', member_id: 'm', code: '1', nope: 1 }, { forbidUnknown: true }), [/nope/])
  t.not(validateResponse('POST', '/v1/b2b/recovery_codes/recover', 200, { status_code: 200 }).length, 0)
  t.match(validateRequest('POST', '/v1/unknown', {}), [/no operation/])
  t.same(validateResponse('POST', '/v1/passwords/authenticate', 400, {}), [], '400 has no schema')
  t.not(validateResponse('GET', '/v1/b2b/sessions?member_id=m', 200, { status_code: 200, request_id: 'r', member_sessions: [{ member_session_id: 's' }] }).length, 0, 'list items are MemberSession objects')
  t.match(validateRequest('GET', '/v1/sessions', {}), [/user_id/], 'the list needs its id')
})
