import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { buildTestApp, DEMO } from '../../helper.js'

// HIDE_ACCOUNT_EXISTENCE on password checks (login, reset with the existing password): through the
// BFF against the emulator, an unknown account and a wrong password answer the same bytes, apart
// from the request ids, and both reach Stytch.

interface Case { vertical: 'b2b' | 'consumer'; url: string; upstream: string; body: (email: string, password: string) => Record<string, string> }

const CASES: Case[] = [
  { vertical: 'consumer', url: '/auth/passwords/authenticate', upstream: '/v1/passwords/authenticate', body: (email, password) => ({ email, password }) },
  { vertical: 'consumer', url: '/auth/passwords/existing_password/reset', upstream: '/v1/passwords/existing_password/reset', body: (email, password) => ({ email, existing_password: password, new_password: 'a-brand-new-password-7!' }) },
  { vertical: 'b2b', url: '/auth/b2b/passwords/authenticate', upstream: '/v1/b2b/passwords/authenticate', body: (email, password) => ({ organization_id: DEMO.org, email_address: email, password }) },
  { vertical: 'b2b', url: '/auth/b2b/passwords/existing_password/reset', upstream: '/v1/b2b/passwords/existing_password/reset', body: (email, password) => ({ organization_id: DEMO.org, email_address: email, existing_password: password, new_password: 'a-brand-new-password-7!' }) },
  { vertical: 'b2b', url: '/auth/b2b/passwords/discovery/authenticate', upstream: '/v1/b2b/passwords/discovery/authenticate', body: (email, password) => ({ email_address: email, password }) }
]

function post (app: FastifyInstance, url: string, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, headers: { 'x-csrf': '1', 'content-type': 'application/json' }, payload: JSON.stringify(body) })
}

/** the body with its two request ids blanked: everything else must match byte for byte */
function withoutIds (res: LightMyRequestResponse): string {
  const body = res.json() as Record<string, unknown>
  return res.body
    .replace(JSON.stringify(String(body.request_id)), '"<id>"')
    .replace(JSON.stringify(String(body.stytch_request_id)), '"<stytch-id>"')
}

/** response headers a client could compare, minus those that differ on every request */
function comparableHeaders (res: LightMyRequestResponse): Record<string, unknown> {
  const { date, 'x-request-id': _id, 'x-ratelimit-remaining': _left, 'x-ratelimit-reset': _reset, 'content-length': _length, ...rest } = res.headers
  return rest
}

for (const c of CASES) {
  t.test(`${c.vertical} ${c.url}: unknown account and wrong password answer alike`, async (t) => {
    const { app, emulator } = await buildTestApp(t, { STYTCH_VERTICAL: c.vertical })
    const before = emulator.emulator.count(c.upstream)
    const wrong = await post(app, c.url, c.body(DEMO.email, 'not-the-password-9!'))
    const unknown = await post(app, c.url, c.body('nobody-here@example.com', 'not-the-password-9!'))
    t.equal(emulator.emulator.count(c.upstream) - before, 2, 'both attempts reached Stytch (no early answer)')

    t.equal(wrong.statusCode, 401)
    t.equal(unknown.statusCode, 401)
    t.same(wrong.json(), { status_code: 401, error_type: 'unauthorized_credentials', error_message: 'Unauthorized credentials.', request_id: wrong.headers['x-request-id'], stytch_request_id: wrong.json().stytch_request_id })
    t.match(wrong.json().stytch_request_id, /\S/, 'Stytch\'s request id is kept for support')
    t.equal(withoutIds(unknown), withoutIds(wrong), 'the bodies are equal byte for byte apart from the request ids')
    t.same(comparableHeaders(unknown), comparableHeaders(wrong), 'the same headers, no cookie in either')
    t.equal(wrong.headers['set-cookie'], undefined)
  })
}

t.test('HIDE_ACCOUNT_EXISTENCE=false: Stytch\'s own answer for an unknown account passes through', async (t) => {
  const { app } = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer', HIDE_ACCOUNT_EXISTENCE: 'false' })
  const unknown = await post(app, '/auth/passwords/authenticate', { email: 'nobody-here@example.com', password: 'not-the-password-9!' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error_type, 'email_not_found')
  const wrong = await post(app, '/auth/passwords/authenticate', { email: DEMO.email, password: 'not-the-password-9!' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().error_type, 'unauthorized_credentials')
})

t.test('a correct password still logs in under HIDE_ACCOUNT_EXISTENCE', async (t) => {
  const { app } = await buildTestApp(t, { STYTCH_VERTICAL: 'consumer' })
  const ok = await post(app, '/auth/passwords/authenticate', { email: DEMO.email, password: DEMO.password })
  t.equal(ok.statusCode, 200)
  t.ok(ok.headers['set-cookie'])
})
