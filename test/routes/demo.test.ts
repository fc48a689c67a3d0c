import t from 'tap'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { buildEmulator } from '../../src/emulator/app.js'
import { withDemoResetUrl } from '../../src/demo.js'
import { emulatorDemo } from '../../src/emulator/demo.js'
import type { OutboxMessage } from '../../src/emulator/context.js'

// The demo page is served in emulator mode only (never in production, never against real Stytch),
// and its outbox shows what the emulator "sent". The browser behaviour is in test/browser/.

const outbox: OutboxMessage[] = []
const demo = { outbox: () => outbox }

async function appFor (t: { teardown: (fn: () => unknown) => void }, env: Record<string, string>) {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', ...env }), { logger: false, demo })
  t.teardown(() => app.close())
  return app
}

t.test('emulator mode serves the page, its assets and config under a strict CSP', async (t) => {
  const app = await appFor(t, {})
  for (const url of ['/', '/reset?token=abc&stytch_token_type=multi_tenant_passwords']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 200, url)
    t.match(res.headers['content-type'], /^text\/html/)
    t.match(res.headers['content-security-policy'], /script-src 'self'/)
    t.match(res.body, /<script type="module" src="\/demo\/app.js"><\/script>/)
    t.notMatch(res.body, /<script>|<script [^>]*>[^<]|<style|style="|\son[a-z]+="/, 'no inline script, style or handler')
  }
  const js = await app.inject({ url: '/demo/app.js' })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /^text\/javascript/)
  const css = await app.inject({ url: '/demo/app.css' })
  t.match(css.headers['content-type'], /^text\/css/)
  const unknown = await app.inject({ url: '/demo/secret.txt' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error_type, 'not_found')
  const cfg = await app.inject({ url: '/demo/config' })
  t.same(cfg.json(), { vertical: 'b2b', prefix: '/auth', csrfHeader: 'x-csrf', demo: { email: 'demo@example.com', password: 'demo-password-123!', organization: 'demo-org' } })
  t.equal(cfg.headers['cache-control'], 'no-store')
})

t.test('the outbox lists what the emulator sent, newest first, the token only inside its link', async (t) => {
  const app = await appFor(t, { STYTCH_VERTICAL: 'consumer' })
  outbox.length = 0
  outbox.push(
    { kind: 'reset_password', to: 'demo@example.com', token: 'tok', link: 'http://localhost:3000/reset?token=tok', created_at: '2026-01-01T00:00:00.000Z' },
    { kind: 'sms_otp', to: '+15555550100', code: '123456', organization_id: 'org', created_at: '2026-01-01T00:01:00.000Z' }
  )
  const res = await app.inject({ url: '/demo/outbox' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), {
    messages: [
      { kind: 'sms_otp', to: '+15555550100', code: '123456', created_at: '2026-01-01T00:01:00.000Z' },
      { kind: 'reset_password', to: 'demo@example.com', link: 'http://localhost:3000/reset?token=tok', created_at: '2026-01-01T00:00:00.000Z' }
    ]
  })
})

t.test('never served against real Stytch or in production, even when asked', async (t) => {
  const creds = { STYTCH_PROJECT_ID: 'project-test-abc', STYTCH_SECRET: 'shh' }
  for (const env of [creds, { ...creds, NODE_ENV: 'production', STYTCH_API_URL: 'https://test.stytch.com' }] as Array<Record<string, string>>) {
    const app = await appFor(t, env)
    for (const url of ['/', '/reset', '/demo/app.js', '/demo/config', '/demo/outbox']) {
      const res = await app.inject({ url })
      t.equal(res.statusCode, 404, `${env.NODE_ENV ?? 'credentials'}: ${url}`)
    }
  }
})

t.test('without the demo option there is no page', async (t) => {
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }), { logger: false })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/' })).statusCode, 404)
})

t.test('reset links lead back to the demo unless RESET_PASSWORD_REDIRECT_URL is set', async (t) => {
  const reset = (c: Config) => withDemoResetUrl(c).reset.redirectUrl
  t.equal(reset(loadConfig({ PORT: '3000' })), 'http://localhost:3000/reset', 'wildcard host reads as localhost')
  t.equal(reset(loadConfig({ PORT: '8080', HOST: '127.0.0.1' })), 'http://127.0.0.1:8080/reset', 'a named host is kept')
  t.equal(reset(loadConfig({ PORT: '8080', HOST: '::1' })), 'http://[::1]:8080/reset')
  t.equal(reset(loadConfig({ RESET_PASSWORD_REDIRECT_URL: 'https://app.example.com/reset' })), 'https://app.example.com/reset', 'configuration wins')
  t.equal(reset(loadConfig({ PORT: '0' })), undefined, 'port 0: unknown origin, left unset')
  t.equal(reset(loadConfig({ STYTCH_PROJECT_ID: 'project-test-abc', STYTCH_SECRET: 'shh' })), undefined, 'real Stytch: untouched')
})

t.test('a reset started through the BFF puts a demo link in the outbox', async (t) => {
  const emulator = await buildEmulator({})
  const url = await emulator.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => emulator.close())
  const base = loadConfig({ PORT: '4321', LOG_LEVEL: 'silent' })
  const config = withDemoResetUrl({ ...base, projectId: emulator.emulator.projectId, secret: emulator.emulator.secret, apiUrl: url })
  const app = await buildApp(config, { logger: false, demo: { outbox: () => emulator.emulator.outbox } })
  t.teardown(() => app.close())
  const res = await app.inject({
    method: 'POST',
    url: '/auth/b2b/passwords/email/reset/start',
    headers: { 'content-type': 'application/json', 'x-csrf': '1' },
    payload: { organization_id: 'demo-org', email_address: 'demo@example.com' }
  })
  t.equal(res.statusCode, 200)
  const [message] = (await app.inject({ url: '/demo/outbox' })).json().messages
  t.match(message.link, /^http:\/\/localhost:4321\/reset\?stytch_token_type=multi_tenant_passwords&token=/)
})

t.test('the outbox shows the demo member\'s current TOTP code and unused recovery codes, as the emulator knows them', async (t) => {
  const T0 = Date.UTC(2026, 0, 1, 0, 0, 5)
  const emulator = await buildEmulator({ now: () => T0 })
  t.teardown(() => emulator.close())
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent' }), { logger: false, demo: emulatorDemo(emulator.emulator) })
  t.teardown(() => app.close())
  const { store, clock } = emulator.emulator
  const member = store.findMember('demo@example.com', 'mfa-org')!
  const outbox = async () => (await app.inject({ url: '/demo/outbox' })).json()
  const first = await outbox()
  t.same(first.authenticator, {
    email: 'demo@example.com',
    organization: 'mfa-org',
    totp_code: store.totpCode(member.member_id),
    totp_expires_in: 25,
    recovery_codes: member.recovery_codes.map((c) => c.code)
  })
  t.equal(first.authenticator.recovery_codes.length, 10)
  member.recovery_codes[0]!.used = true
  clock.advance(30_000)
  const later = await outbox()
  t.equal(later.authenticator.totp_code, store.totpCode(member.member_id), 'the code of the current 30 s step')
  t.same(later.authenticator.recovery_codes, member.recovery_codes.slice(1).map((c) => c.code), 'a used code is gone')
})
