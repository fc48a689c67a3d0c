import { spawn, type ChildProcess } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { Client } from 'undici'
import { json, startFakeUpstream, type FakeUpstream } from '../fake-upstream.js'

// The real server process (src/server.ts under tsx) over real sockets: SIGTERM drains — readiness
// 503, in-flight requests finish, idle keep-alive sockets do not hold the exit — and the process
// exits 0 within SHUTDOWN_TIMEOUT_MS.

const REPO = fileURLToPath(new URL('../../', import.meta.url))
// Only a bound for a process that hangs: tsx compiles on start, which takes a while on a loaded
// 2-core machine. Nothing here measures start-up speed.
const START_MS = 240_000
t.setTimeout(600_000)
const SHUTDOWN_TIMEOUT_MS = 6_000
const SLOW_UPSTREAM_MS = 1_500

interface Server { child: ChildProcess; port: number; logs: () => Array<Record<string, unknown>>; exited: Promise<{ code: number | null; at: number }> }

async function startServer (t: Test, fake: FakeUpstream, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      STYTCH_PROJECT_ID: 'project-test-00000000-0000-4000-8000-000000000000',
      STYTCH_SECRET: 'secret-test-shutdown-canary-0000000000',
      STYTCH_API_URL: fake.url,
      HOST: '127.0.0.1',
      PORT: '0',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: 'info',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const lines: Array<Record<string, unknown>> = []
  let stderr = ''
  let buffer = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += String(c) })
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time\n${stderr}`)), START_MS)
    child.stdout?.on('data', (c: Buffer) => {
      buffer += String(c)
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        try { lines.push(JSON.parse(line) as Record<string, unknown>) } catch { continue }
        const match = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(String(lines.at(-1)?.msg ?? ''))
        if (match) { clearTimeout(timer); resolve(Number(match[1])) }
      }
    })
    void exited.then(({ code }) => reject(new Error(`server exited early (${code})\n${stderr}`)))
  })
  return { child, port, logs: () => lines, exited }
}

/** A browser call that the fake Stytch holds: a strength check (no rate limit, no cookie). */
function slowCall (client: Client) {
  return client.request({
    method: 'POST',
    path: '/auth/b2b/passwords/strength_check',
    headers: { 'content-type': 'application/json', 'x-csrf': '1' },
    body: JSON.stringify({ password: 'a-long-enough-password-123' })
  })
}

function rawSocket (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket))
    socket.once('error', reject)
  })
}

function readAll (socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let data = ''
    socket.on('data', (c: Buffer) => { data += String(c) })
    socket.once('close', () => resolve(data))
    socket.once('error', () => resolve(data))
  })
}

async function until (check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) return false
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return true
}

t.test('SIGTERM: the in-flight request finishes, readiness turns 503, idle keep-alive does not delay the exit, exit 0', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  fake.handler = (_req, res) => { setTimeout(() => json(res, 200, { status_code: 200, request_id: 'request-id-slow', score: 1, valid_password: true }), SLOW_UPSTREAM_MS) }
  const server = await startServer(t, fake)
  const origin = `http://127.0.0.1:${server.port}`

  // An idle keep-alive client: one request done, its socket left open.
  const idle = new Client(origin, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 })
  t.teardown(() => idle.destroy())
  let idleDisconnected = false
  idle.on('disconnect', () => { idleDisconnected = true })
  const ready = await idle.request({ method: 'GET', path: '/readyz' })
  t.equal(ready.statusCode, 200, 'ready before the signal (upstream reachable: the JWKS answered)')
  await ready.body.dump()

  // A request whose headers are still arriving when the signal comes (a new request during the drain).
  const late = await rawSocket(server.port)
  const lateAnswer = readAll(late)
  late.write('GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n')

  // The slow in-flight request.
  const busy = new Client(origin)
  t.teardown(() => busy.destroy())
  const inFlight = slowCall(busy)
  const strengthChecks = () => fake.requests.filter((r) => r.url === '/v1/b2b/passwords/strength_check').length
  t.ok(await until(() => strengthChecks() === 1, 5_000), 'the slow request reached the upstream')

  server.child.kill('SIGTERM')
  t.ok(await until(() => server.logs().some((l) => l.msg === 'draining'), 30_000), 'the server logged that it is draining')

  late.write('\r\n')
  const answer = await lateAnswer
  t.match(answer, /^HTTP\/1\.1 503 /, '/readyz answers 503 while draining')
  t.match(answer, /"error_type":"shutting_down"/, 'in the error envelope')
  t.match(answer.toLowerCase(), /connection: close/, 'and closes the connection')

  await new Promise<void>((resolve, reject) => {
    const probe = connect(server.port, '127.0.0.1', () => { probe.destroy(); reject(new Error('a new connection was accepted while draining')) })
    probe.once('error', (err: NodeJS.ErrnoException) => { t.equal(err.code, 'ECONNREFUSED', 'new connections are refused'); resolve() })
  })

  const res = await inFlight
  t.equal(res.statusCode, 200, 'the in-flight request completes')
  t.match(await res.body.json(), { score: 1, valid_password: true }, 'with the upstream answer')
  t.equal(res.headers.connection, 'close', 'and tells the client the connection closes')

  // exit code 0 means within SHUTDOWN_TIMEOUT_MS (close-with-grace exits 1 past it, by the
  // server's own clock); no cut logged means the idle keep-alive socket did not hold the exit
  const { code } = await server.exited
  t.equal(code, 0, 'exit code 0: closed within SHUTDOWN_TIMEOUT_MS')
  t.notOk(server.logs().some((l) => String(l.msg).includes('still open')), 'no connection was left for the deadline to cut')
  t.ok(idleDisconnected, 'the idle keep-alive connection was closed by the server')
  t.equal(strengthChecks(), 1, 'one upstream call for the in-flight request')
  t.equal(fake.requests.length, 2, 'the rest: one readiness probe (JWKS)')
})

t.test('SIGTERM with only idle keep-alive connections exits 0 at once', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  const server = await startServer(t, fake)
  const clients = Array.from({ length: 3 }, () => new Client(`http://127.0.0.1:${server.port}`, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 }))
  for (const client of clients) {
    t.teardown(() => client.destroy())
    const res = await client.request({ method: 'GET', path: '/healthz' })
    t.equal(res.statusCode, 200)
    await res.body.dump()
  }
  server.child.kill('SIGTERM')
  const { code } = await server.exited
  t.equal(code, 0, 'exit code 0')
  t.notOk(server.logs().some((l) => String(l.msg).includes('still open')), 'exited without waiting for keep-alive timeouts: nothing was cut')
  t.ok(server.logs().some((l) => l.msg === 'closed'), 'logged a clean close')
})

t.test('SIGTERM while Stytch hangs: the deadline cuts what is left and the exit is still 0 within SHUTDOWN_TIMEOUT_MS', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  fake.handler = () => { /* never answers */ }
  const shutdownMs = 3_000
  const server = await startServer(t, fake, { SHUTDOWN_TIMEOUT_MS: String(shutdownMs), UPSTREAM_TIMEOUT_MS: '30000' })
  const busy = new Client(`http://127.0.0.1:${server.port}`)
  t.teardown(() => busy.destroy())
  const inFlight = slowCall(busy).then((res) => res.statusCode, (err: Error) => err.name)
  t.ok(await until(() => fake.requests.length === 1, 5_000), 'the request is waiting on Stytch')
  server.child.kill('SIGTERM')
  const { code } = await server.exited
  t.equal(code, 0, 'exit code 0: within SHUTDOWN_TIMEOUT_MS (close-with-grace exits 1 past it)', { logs: server.logs() })
  t.ok(server.logs().some((l) => String(l.msg).includes('still open')), 'the cut was logged')
  t.not(await inFlight, 200, 'the hung request was cut, not answered')
})

t.test('server timeouts: slow clients cannot hold sockets', async (t) => {
  const { buildApp } = await import('../../src/app.js')
  const { loadConfig } = await import('../../src/config.js')
  const app = await buildApp(loadConfig({ LOG_LEVEL: 'silent', UPSTREAM_TIMEOUT_MS: '10000' }))
  t.teardown(() => app.close())
  t.equal(app.server.headersTimeout, 15_000, 'headers must arrive within 15 s')
  t.equal(app.server.requestTimeout, 30_000, 'the whole request within 30 s')
  t.equal(app.server.keepAliveTimeout, 10_000, 'idle keep-alive sockets close after 10 s')
  t.ok(app.server.timeout >= 15_000, `an idle socket is closed after ${app.server.timeout} ms, longer than an upstream call`)
})
