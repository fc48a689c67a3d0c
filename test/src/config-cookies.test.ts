import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadConfig } from '../../src/config.js'

// Cookie attributes from configuration are checked at start-up: a value a browser would read
// differently (or as extra attributes) stops the service with a message naming the variable.

const creds = { STYTCH_PROJECT_ID: 'project-test-00000000-0000-4000-8000-000000000000', STYTCH_SECRET: 'secret-test-config-cookies-000000' }
const REPO = fileURLToPath(new URL('../../', import.meta.url))

t.test('COOKIE_DOMAIN must be a plain host name', async (t) => {
  const bad = [
    'example.com; SameSite=None', // would become attributes
    'example.com;', 'a=b.example.com', 'exa mple.com', 'example.com:8443', 'https://example.com',
    'example.com/path', 'example.com.', '-example.com', 'example-.com', 'exa_mple.com', 'a..b.com',
    'bücher.example', `${'a'.repeat(64)}.example.com`, '192.168.0.10', '10.0.0', '[::1]', '..example.com'
  ]
  for (const value of bad) {
    t.throws(() => loadConfig({ ...creds, COOKIE_DOMAIN: value }), /COOKIE_DOMAIN/, JSON.stringify(value))
  }
  t.equal(loadConfig({ ...creds, COOKIE_DOMAIN: 'App.Example.COM' }).cookie.domain, 'app.example.com', 'lower-cased')
  t.equal(loadConfig({ ...creds, COOKIE_DOMAIN: '.example.com' }).cookie.domain, 'example.com', 'a leading dot is dropped, as browsers do')
  t.equal(loadConfig({ ...creds, COOKIE_DOMAIN: ' xn--bcher-kva.example ' }).cookie.domain, 'xn--bcher-kva.example', 'punycode is a host name')
  t.equal(loadConfig({ ...creds, COOKIE_DOMAIN: '' }).cookie.domain, undefined, 'empty means no Domain')
})

t.test('cookie names: no prefix of their own, no two alike', async (t) => {
  for (const value of ['__Host-sid', '__host-sid', '__Secure-sid', '__SECURE-sid']) {
    t.throws(() => loadConfig({ ...creds, SESSION_COOKIE_NAME: value }), /SESSION_COOKIE_NAME: must not start with __Host- or __Secure-/, value)
  }
  t.throws(() => loadConfig({ ...creds, JWT_COOKIE_NAME: 'stytch_session' }), /JWT_COOKIE_NAME: "stytch_session" is already the name of SESSION_COOKIE_NAME/)
  const names = loadConfig({ ...creds }).cookie.names
  t.same(names, { session: '__Host-stytch_session', jwt: '__Host-stytch_session_jwt', intermediateSession: '__Host-stytch_intermediate_session', pkce: '__Host-stytch_pkce' }, '__Host- when Secure and no Domain')
  const withDomain = loadConfig({ ...creds, COOKIE_DOMAIN: 'example.com' }).cookie
  t.ok(Object.values(withDomain.names).every((n) => n.startsWith('__Secure-')), 'a Domain switches to __Secure- (__Host- forbids Domain)')
})

t.test('COOKIE_SAMESITE: Strict, Lax or None, and None only with Secure', async (t) => {
  t.equal(loadConfig({ ...creds, COOKIE_SAMESITE: 'lax' }).cookie.sameSite, 'Lax')
  t.throws(() => loadConfig({ ...creds, COOKIE_SAMESITE: 'None; Secure' }), /COOKIE_SAMESITE: must be Strict, Lax or None/)
  t.throws(() => loadConfig({ ...creds, COOKIE_SAMESITE: 'None', COOKIE_SECURE: 'false' }), /COOKIE_SAMESITE: None requires COOKIE_SECURE=true/)
  t.equal(loadConfig({ ...creds, COOKIE_SAMESITE: 'None' }).cookie.sameSite, 'None')
})

t.test('the server refuses to start with a bad COOKIE_DOMAIN, naming it', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...creds, STYTCH_API_URL: 'http://127.0.0.1:9', HOST: '127.0.0.1', PORT: '0', COOKIE_DOMAIN: 'example.com; SameSite=None' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += String(c) })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(code, 1, 'exit code 1')
  t.match(stderr, /COOKIE_DOMAIN: "example\.com; SameSite=None" is not a host name/)
})
