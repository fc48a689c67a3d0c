import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

const creds = { STYTCH_PROJECT_ID: 'project-test-abc', STYTCH_SECRET: 'shh' }

t.test('defaults follow docs/contract.md', async (t) => {
  const c = loadConfig(creds)
  t.equal(c.vertical, 'b2b')
  t.equal(c.apiUrl, 'https://test.stytch.com')
  t.equal(c.port, 3000)
  t.equal(c.host, '0.0.0.0')
  t.equal(c.prefix, '/auth')
  t.equal(c.csrfHeader, 'x-csrf')
  t.equal(c.cookie.secure, true)
  t.equal(c.cookie.sameSite, 'Strict')
  t.same(c.cookie.names, { session: '__Host-stytch_session', jwt: '__Host-stytch_session_jwt', intermediateSession: '__Host-stytch_intermediate_session', pkce: '__Host-stytch_pkce' })
  t.equal(c.sessionDurationMinutes, 60)
  t.equal(c.sessionSliding, true)
  t.equal(c.reset.hideAccountExistence, true)
  t.equal(c.reset.pkce, true)
  t.equal(c.jwtMaxAgeSeconds, 60)
  t.equal(c.verifyCookieCopyHeaders, false, 'no token copies in headers unless asked for')
  t.same(c.rateLimit, { globalPerMinute: 300, authPerMinute: 10, identifierPerHour: 20, redisUrl: undefined, redisCommandTimeoutMs: 500 })
  t.equal(c.upstreamTimeoutMs, 10_000)
  t.equal(c.bodyLimitBytes, 16_384)
  t.equal(c.shutdownTimeoutMs, 10_000)
  t.equal(c.trustProxy, false)
  t.equal(c.emulator, false)
})

t.test('emulator mode: auth limits generous enough to click through the demo; variables still win', async (t) => {
  t.same(loadConfig({}).rateLimit, { globalPerMinute: 300, authPerMinute: 120, identifierPerHour: 600, redisUrl: undefined, redisCommandTimeoutMs: 500 })
  t.same(loadConfig({ RATE_LIMIT_AUTH_PER_MINUTE: '7', RATE_LIMIT_IDENTIFIER_PER_HOUR: '9' }).rateLimit, { globalPerMinute: 300, authPerMinute: 7, identifierPerHour: 9, redisUrl: undefined, redisCommandTimeoutMs: 500 })
  t.equal(loadConfig({ ...creds, RATE_LIMIT_AUTH_PER_MINUTE: '' }).rateLimit.authPerMinute, 10, 'an empty value is the real-Stytch default')
})

t.test('DOCS_UI: on outside production, off in production unless set', async (t) => {
  const prod = { ...creds, NODE_ENV: 'production', STYTCH_API_URL: 'https://test.stytch.com' }
  t.equal(loadConfig({}).docsUi, true)
  t.equal(loadConfig(creds).docsUi, true)
  t.equal(loadConfig(prod).docsUi, false)
  t.equal(loadConfig({ ...prod, DOCS_UI: 'true' }).docsUi, true)
  t.equal(loadConfig({ ...creds, DOCS_UI: 'off' }).docsUi, false)
  t.throws(() => loadConfig({ DOCS_UI: 'maybe' }), { message: /DOCS_UI: must be true or false/ })
})

t.test('live project ids default to the live API', async (t) => {
  t.equal(loadConfig({ ...creds, STYTCH_PROJECT_ID: 'project-live-x' }).apiUrl, 'https://api.stytch.com')
})

t.test('cookie names: dev names without __Host-, __Secure- with a domain', async (t) => {
  t.equal(loadConfig({ ...creds, COOKIE_SECURE: 'false' }).cookie.names.session, 'stytch_session')
  t.equal(loadConfig({ ...creds, COOKIE_DOMAIN: 'example.com' }).cookie.names.jwt, '__Secure-stytch_session_jwt')
})

t.test('no credentials outside production: emulator mode with dev cookies', async (t) => {
  const c = loadConfig({})
  t.equal(c.emulator, true)
  t.equal(c.cookie.secure, false)
})

t.test('production without credentials names both variables', async (t) => {
  const err = (() => { try { loadConfig({ NODE_ENV: 'production' }) } catch (e) { return e } })()
  t.ok(err instanceof ConfigError)
  t.match((err as Error).message, /STYTCH_PROJECT_ID/)
  t.match((err as Error).message, /STYTCH_SECRET/)
})

t.test('production refuses insecure cookies and plain-http Stytch', async (t) => {
  t.throws(() => loadConfig({ ...creds, NODE_ENV: 'production', COOKIE_SECURE: 'false' }), /COOKIE_SECURE/)
  t.throws(() => loadConfig({ ...creds, NODE_ENV: 'production', STYTCH_API_URL: 'http://stytch.internal' }), /STYTCH_API_URL/)
})

t.test('every bad value stops start-up naming the variable', async (t) => {
  const bad: Record<string, string> = {
    STYTCH_VERTICAL: 'enterprise',
    PORT: 'eighty',
    AUTH_PREFIX: 'auth/',
    ALLOWED_ORIGINS: 'https://app.example.com/,*',
    TRUST_PROXY: 'everyone',
    COOKIE_SECURE: 'maybe',
    COOKIE_SAMESITE: 'sometimes',
    SESSION_DURATION_MINUTES: '2',
    SESSION_SLIDING: 'perhaps',
    RESET_PASSWORD_REDIRECT_URL: 'not a url',
    RESET_PASSWORD_EXPIRATION_MINUTES: '99999',
    JWT_MAX_AGE_SECONDS: '-1',
    RATE_LIMIT_AUTH_PER_MINUTE: '0',
    UPSTREAM_TIMEOUT_MS: 'soon',
    REDIS_COMMAND_TIMEOUT_MS: '0',
    BODY_LIMIT_BYTES: '1',
    LOG_LEVEL: 'loud',
    LOG_EXCLUDE_PATHS: 'auth/verify',
    STYTCH_API_URL: 'ftp://x'
  }
  for (const [name, value] of Object.entries(bad)) {
    t.throws(() => loadConfig({ ...creds, [name]: value }), new RegExp(name), `${name}=${value}`)
  }
  t.throws(() => loadConfig({ ...creds, COOKIE_SAMESITE: 'None', COOKIE_SECURE: 'false' }), /COOKIE_SAMESITE/)
})

t.test('REDIS_COMMAND_TIMEOUT_MS: 500 ms by default, milliseconds', async (t) => {
  t.equal(loadConfig(creds).rateLimit.redisCommandTimeoutMs, 500)
  t.equal(loadConfig({ ...creds, REDIS_COMMAND_TIMEOUT_MS: '2000' }).rateLimit.redisCommandTimeoutMs, 2000)
})

t.test('LOG_EXCLUDE_PATHS: none by default, a comma-separated list of paths', async (t) => {
  t.same(loadConfig(creds).logExcludePaths, [])
  t.same(loadConfig({ ...creds, LOG_EXCLUDE_PATHS: ' /auth/verify, /auth/verify/* ,' }).logExcludePaths, ['/auth/verify', '/auth/verify/*'])
  t.throws(() => loadConfig({ ...creds, LOG_EXCLUDE_PATHS: '/auth/verify?x=1' }), /LOG_EXCLUDE_PATHS/)
})

t.test('TRUST_PROXY: false, a hop count, or IPs/CIDRs', async (t) => {
  t.equal(loadConfig({ ...creds, TRUST_PROXY: 'false' }).trustProxy, false)
  t.equal(loadConfig({ ...creds, TRUST_PROXY: '2' }).trustProxy, 2)
  t.same(loadConfig({ ...creds, TRUST_PROXY: '10.0.0.1, 10.1.0.0/16,::1' }).trustProxy, ['10.0.0.1', '10.1.0.0/16', '::1'])
  t.throws(() => loadConfig({ ...creds, TRUST_PROXY: 'true' }), /TRUST_PROXY/)
  t.throws(() => loadConfig({ ...creds, TRUST_PROXY: '10.0.0.0/40' }), /TRUST_PROXY/)
})

t.test('VERIFY_COOKIE_COPY_HEADERS: opt-in boolean, a bad value names the variable', async (t) => {
  t.equal(loadConfig({ VERIFY_COOKIE_COPY_HEADERS: 'true' }).verifyCookieCopyHeaders, true)
  t.equal(loadConfig({ VERIFY_COOKIE_COPY_HEADERS: 'false' }).verifyCookieCopyHeaders, false)
  t.throws(() => loadConfig({ VERIFY_COOKIE_COPY_HEADERS: 'maybe' }), /VERIFY_COOKIE_COPY_HEADERS must be true or false/)
})
