import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { Agent, request } from 'undici'
import { buildTestApp, DEMO } from '../helper.js'
import { nginxConfig, nginxServerBlock } from './nginx-config.js'

// A real nginx in front of the BFF: auth_request GET /auth/verify guards /api/ (a tiny API that
// echoes the identity headers it got), /auth/ goes straight to the BFF. Three loopback
// addresses keep the parties apart: the browser connects from 127.0.0.3, nginx reaches the BFF
// from 127.0.0.2 (the one address TRUST_PROXY names), a direct client comes from 127.0.0.1.

const BROWSER_IP = '127.0.0.3'
const NGINX_IP = '127.0.0.2'
const JWT = '__Host-stytch_session_jwt'
const SESSION = '__Host-stytch_session'
const MAX_AGE_SECONDS = 2
const DOCS_SITE = { listen: '80', bff: '127.0.0.1:3000', api: '127.0.0.1:8080' }

function findNginx (): string | undefined {
  if (spawnSync('nginx', ['-v']).error === undefined) return 'nginx'
  return ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'].find((p) => existsSync(p))
}

const nginx = findNginx()

t.test('docs/gateway.md shows exactly the tested nginx server block', async (t) => {
  const docs = await readFile(new URL('../../docs/gateway.md', import.meta.url), 'utf8')
  t.ok(docs.includes(nginxServerBlock(DOCS_SITE)), 'render nginxServerBlock(' + JSON.stringify(DOCS_SITE) + ') into docs/gateway.md')
})

async function freePort (): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function untilListening (port: number, child: ChildProcess, errorLog: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' })
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (up) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const log = await readFile(errorLog, 'utf8').catch(() => '')
  throw new Error(`nginx did not start (exit ${child.exitCode}):\n${log}`)
}

/** Just enough of a browser's cookie jar: Max-Age=0 deletes, cookies go back on every request. */
class CookieJar {
  readonly cookies = new Map<string, string>()
  /** the Set-Cookie lines of the last response */
  last: string[] = []
  take (header: string | string[] | undefined): void {
    this.last = header === undefined ? [] : Array.isArray(header) ? header : [header]
    for (const line of this.last) {
      const [pair = ''] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      if (/;\s*Max-Age=0(;|$)/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(eq + 1).trim())
    }
  }

  header (): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}

t.test('nginx auth_request in front of the BFF', { skip: nginx ? false : 'nginx not installed: skipping (bash .ci/run installs it)' }, async (t) => {
  // the BFF, on a real socket
  const { app, emulator, logs } = await buildTestApp(t, { TRUST_PROXY: NGINX_IP, JWT_MAX_AGE_SECONDS: String(MAX_AGE_SECONDS), VERIFY_COOKIE_COPY_HEADERS: 'true' })
  const bffUrl = await app.listen({ host: '127.0.0.1', port: 0 })
  const bff = new URL(bffUrl).host

  // the API behind the gateway: echoes what it received
  const apiSeen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = []
  const api = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString('utf8') })
    req.on('end', () => {
      apiSeen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      const identity = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-stytch-')))
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ identity, body }))
    })
  })
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => api.close(resolve)))

  // nginx, in the foreground, everything in a temp dir
  const dir = await mkdtemp(join(tmpdir(), 'stytch-bff-nginx-'))
  if (!process.env.KEEP_NGINX_DIR) t.teardown(() => rm(dir, { recursive: true, force: true }))
  const port = await freePort()
  const site = { listen: `127.0.0.1:${port}`, bff, api: `127.0.0.1:${(api.address() as AddressInfo).port}` }
  await writeFile(join(dir, 'nginx.conf'), nginxConfig({ dir, site, proxyBind: NGINX_IP, asRoot: process.getuid?.() === 0 }))
  const child = spawn(nginx!, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString('utf8') })
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
  })
  await untilListening(port, child, join(dir, 'error.log')).catch((err: Error) => { throw new Error(`${err.message}\n${stderr}`) })

  // the browser
  const agent = new Agent({ localAddress: BROWSER_IP })
  t.teardown(() => agent.close())
  const jar = new CookieJar()
  const base = `http://127.0.0.1:${port}`
  const send = async (method: 'GET' | 'POST', path: string, opts: { body?: unknown; headers?: Record<string, string>; cookies?: string } = {}) => {
    const cookie = opts.cookies ?? jar.header()
    const res = await request(`${base}${path}`, {
      method,
      dispatcher: agent,
      headers: {
        ...(method === 'POST' ? { 'content-type': 'application/json', 'x-csrf': '1' } : {}),
        ...(cookie ? { cookie } : {}),
        ...opts.headers
      },
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) })
    })
    const text = await res.body.text()
    if (opts.cookies === undefined) jar.take(res.headers['set-cookie'])
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> }
  }
  const authenticateCalls = () => emulator.emulator.count('/v1/b2b/sessions/authenticate')

  const anonymous = await send('GET', '/api/whoami')
  t.equal(anonymous.status, 401, 'no session: 401 from nginx')
  t.equal(apiSeen.length, 0, 'the API never saw it')

  const login = await send('POST', '/auth/b2b/passwords/authenticate', { body: { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password } })
  t.equal(login.status, 200, 'logged in through nginx')
  const member = login.json().member_session as { member_session_id: string; member_id: string; organization_id: string; roles: string[] }
  t.ok(jar.cookies.get(SESSION) && jar.cookies.get(JWT), 'both session cookies in the browser')
  const firstJwt = jar.cookies.get(JWT)

  const whoami = await send('GET', '/api/whoami', { headers: { 'x-stytch-member-id': 'member-test-forged', 'x-forwarded-for': '203.0.113.7', 'x-request-id': 'through-nginx' } })
  t.equal(whoami.status, 200)
  t.same(whoami.json().identity, {
    'x-stytch-session-id': member.member_session_id,
    'x-stytch-member-id': member.member_id,
    'x-stytch-organization-id': member.organization_id,
    'x-stytch-roles': member.roles.join(',')
  }, 'the API sees the member, not what the client claimed')
  t.same(jar.last, [], 'a young JWT: no cookie change')
  t.equal(authenticateCalls(), 0, 'verified locally: no upstream call')
  t.notOk(Object.keys(apiSeen.at(-1)!.headers).some((h) => h.startsWith('x-set-cookie')), 'no cookie copies reach the API')
  const planted = await send('GET', '/api/whoami', { headers: { 'x-set-cookie-jwt': 'planted', 'x-set-cookie-session': 'planted' } })
  t.equal(planted.status, 200)
  t.notOk(Object.keys(apiSeen.at(-1)!.headers).some((h) => h.startsWith('x-set-cookie')), 'not even a client\'s own')

  const post = await send('POST', '/api/orders', { body: { item: 42 } })
  t.equal(post.status, 200, 'a POST passes too (the auth subrequest is a bodiless GET)')
  t.same(post.json().body, '{"item":42}', 'the API gets the body')

  // let the JWT age past JWT_MAX_AGE_SECONDS (the verifier uses the real clock)
  await new Promise((resolve) => setTimeout(resolve, MAX_AGE_SECONDS * 1000 + 200))
  const aged = await send('GET', '/api/whoami')
  t.equal(aged.status, 200)
  t.equal((aged.json().identity as Record<string, string>)['x-stytch-member-id'], member.member_id)
  t.equal(authenticateCalls(), 1, 'one sessions/authenticate')
  t.match(jar.last, [/^__Host-stytch_session_jwt=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Strict$/, /^__Host-stytch_session=[^;]+; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Strict$/],
    'the refreshed JWT and the slid session cookie reach the browser through nginx, intact')
  t.not(jar.cookies.get(JWT), firstJwt, 'the browser now holds the new JWT')
  for (const name of ['x-set-cookie-jwt', 'x-set-cookie-session', 'x-set-cookie-intermediate-session']) {
    t.equal(aged.headers[name], undefined, `${name} stays between the BFF and nginx`)
  }
  const agedApi = apiSeen.at(-1)!
  t.notOk(Object.keys(agedApi.headers).some((h) => h.startsWith('x-set-cookie')), 'the API never receives the copies of a refresh')
  const { cookie: _browserCookies, ...notCookie } = agedApi.headers
  t.notOk(JSON.stringify(notCookie).includes(jar.cookies.get(SESSION)!), 'nor the session token in any header but the browser\'s own Cookie')

  // a browser asking the BFF's own /auth/verify through nginx's /auth/ location: copies hidden
  await new Promise((resolve) => setTimeout(resolve, MAX_AGE_SECONDS * 1000 + 200))
  const viaAuth = await send('GET', '/auth/verify')
  t.equal(viaAuth.status, 200)
  t.ok(jar.last.length >= 1, 'refreshed: Set-Cookie reaches the browser')
  t.notOk(Object.keys(viaAuth.headers).some((h) => h.startsWith('x-set-cookie')), 'the copies never reach a browser through /auth/')
  const refreshes = authenticateCalls()

  const again = await send('GET', '/api/whoami')
  t.equal(again.status, 200)
  t.equal(authenticateCalls(), refreshes, 'the new JWT is verified locally')
  t.same(jar.last, [])

  const revoked = await send('GET', '/api/whoami', { cookies: `${JWT}=forged.jwt.value; ${SESSION}=revoked-token` })
  t.equal(revoked.status, 401, 'a session Stytch rejects: 401')
  const expired = [revoked.headers['set-cookie']].flat()
  t.match(expired, [/^__Host-stytch_session_jwt=; Max-Age=0/, /^__Host-stytch_session=; Max-Age=0/, /^__Host-stytch_intermediate_session=; Max-Age=0/], 'and its three cookies are expired through nginx')

  const logout = await send('POST', '/auth/logout')
  t.equal(logout.status, 204)
  t.equal(jar.cookies.size, 0, 'logout expired the cookies')
  const seenBefore = apiSeen.length
  const after = await send('GET', '/api/whoami')
  t.equal(after.status, 401, 'logged out: 401 from /api/')
  t.equal(apiSeen.length, seenBefore, 'the API never saw it')

  // client IPs: through nginx, the browser's address from X-Forwarded-For; a spoof is ignored
  const direct = await request(`${bffUrl}/auth/verify`, { headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'direct' } })
  await direct.body.dump()
  t.equal(direct.statusCode, 401)
  const ipsOf = (id: string) => logs.map((l) => JSON.parse(l) as { req?: { id?: string; ip?: string } }).filter((l) => l.req?.id === id).map((l) => l.req?.ip)
  const viaNginx = ipsOf('through-nginx')
  t.ok(viaNginx.length >= 1, 'the verify request through nginx was logged')
  t.same([...new Set(viaNginx)], [BROWSER_IP], 'the BFF sees the browser\'s IP (from X-Forwarded-For), not nginx\'s and not what the browser claimed')
  t.same([...new Set(ipsOf('direct'))], ['127.0.0.1'], 'a direct client\'s X-Forwarded-For is ignored: it is not the trusted proxy')
  t.notOk(logs.some((l) => l.includes('203.0.113.')), 'no spoofed address anywhere in the logs')
  t.notOk(logs.some((l) => l.includes(firstJwt!)), 'no JWT in the logs')
})
