import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { json, startFakeUpstream, type FakeUpstream } from '../../fake-upstream.js'
import { Browser, buildTestApp, DEMO } from '../../helper.js'

// Stytch misbehaving, seen through the BFF (docs/contract.md): every failure mode becomes its documented
// error (a hang: ended by UPSTREAM_TIMEOUT_MS, never earlier), with exactly one upstream call per
// request (no retry storms), a warn line in the logs, and no socket leaked towards Stytch: the
// connection the BFF gave up on is closed, and open connections never accumulate.
//
// Nothing here depends on the machine's speed: durations are asserted only from below (the
// deadline, not something earlier, ended a hang), and socket counts are awaited until they settle
// within their bound (sockets close asynchronously); LIVENESS_MS only bounds a wait that would
// otherwise hang forever.
//
// Known undici bug (nodejs/undici#5845, fix in #5846): after an in-flight request is aborted, the
// client opens one replacement connection that carries no request; it stays idle in the pool until
// the next call reuses it. So "no leak" here means: the abandoned socket is closed, and the number
// of open sockets stays bounded (it does not grow with the number of failures).

const TIMEOUT_MS = 500
/** how long a wait for something that must happen may last before the test reports it missing */
const LIVENESS_MS = 30_000
const LOGIN = { organization_id: DEMO.org, email_address: DEMO.email, password: 'a-password-123!' }

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** closed: the BFF must drop the connection it gave up on; reusable: a complete answer may keep it alive */
interface Fault { name: string; handler: Handler; status: number; errorType: string; socketsAfter: 'closed' | 'reusable' }

const chunk = (size: number) => Buffer.alloc(size, 'a')

const FAULTS: Fault[] = [
  { name: 'hang (never answers)', status: 504, errorType: 'upstream_timeout', socketsAfter: 'closed', handler: () => {} },
  {
    name: 'slow headers (after twice the deadline)',
    status: 504,
    errorType: 'upstream_timeout',
    socketsAfter: 'closed',
    handler: (_req, res) => { const timer = setTimeout(() => json(res, 200, { status_code: 200 }), TIMEOUT_MS * 2); res.on('close', () => clearTimeout(timer)) }
  },
  {
    name: 'slow body (headers, half a body, then nothing)',
    status: 504,
    errorType: 'upstream_timeout',
    socketsAfter: 'closed',
    handler: (_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' }); res.write('{"status_code":200,') }
  },
  {
    name: 'reset before the headers',
    status: 502,
    errorType: 'upstream_unavailable',
    socketsAfter: 'closed',
    handler: (req) => { req.socket.destroy() }
  },
  {
    name: 'reset mid-body',
    status: 502,
    errorType: 'upstream_unavailable',
    socketsAfter: 'closed',
    handler: (_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' }); res.write('{"status_code":200,"member":'); setTimeout(() => res.socket?.destroy(), 20) }
  },
  {
    name: 'malformed JSON',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{"status_code":200,') }
  },
  {
    name: 'HTML instead of JSON',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>') }
  },
  {
    name: 'JSON that is not an object',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('[1,2,3]') }
  },
  {
    name: 'huge body with a declared length (2 MiB)',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) }); res.end(chunk(2 * 1024 * 1024)) }
  },
  {
    name: 'huge chunked body (2 MiB, no length)',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      let sent = 0
      const more = () => {
        while (sent < 2 * 1024 * 1024) {
          sent += 64 * 1024
          if (!res.write(chunk(64 * 1024))) { res.once('drain', more); return }
        }
        res.end()
      }
      res.on('error', () => {})
      more()
    }
  },
  {
    name: '302 redirect (never followed)',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => { res.writeHead(302, { location: '/redirected-elsewhere' }).end() }
  },
  {
    name: '307 redirect with a JSON body',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => { json(res, 307, { status_code: 200, session_token: 'should-never-be-used' }, { location: '/redirected-elsewhere' }) }
  },
  {
    name: '503 with a Stytch-shaped error body (the status decides)',
    status: 502,
    errorType: 'upstream_unavailable',
    socketsAfter: 'reusable',
    handler: (_req, res) => { json(res, 503, { status_code: 400, error_type: 'invalid_email', error_message: 'nope', request_id: 'request-id-x' }) }
  },
  {
    name: '500 with an HTML body',
    status: 502,
    errorType: 'upstream_unavailable',
    socketsAfter: 'reusable',
    handler: (_req, res) => { res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Internal Server Error</h1>') }
  },
  {
    name: '4xx without an error_type',
    status: 502,
    errorType: 'upstream_invalid_response',
    socketsAfter: 'reusable',
    handler: (_req, res) => { json(res, 400, { message: 'something' }) }
  }
]

async function setup (t: Test): Promise<{ fake: FakeUpstream; app: FastifyInstance; logs: string[] }> {
  const fake = await startFakeUpstream()
  const { app, logs } = await buildTestApp(t, { STYTCH_API_URL: fake.url, UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) })
  t.teardown(() => fake.close()) // registered last: runs before the app closes
  return { fake, app, logs }
}

async function until (check: () => boolean, ms = LIVENESS_MS): Promise<boolean> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}

t.test('each upstream failure mode becomes its documented error, in time, with one call and no leaked socket', async (t) => {
  const { fake, app, logs } = await setup(t)
  let lastSocket: Socket | undefined
  const peak: number[] = []
  for (const round of [1, 2, 3]) {
    for (const fault of FAULTS) {
      await t.test(`${fault.name} (round ${round})`, async (t) => {
        fake.handler = (req, res) => { lastSocket = req.socket; fault.handler(req, res) }
        const calls = fake.requests.length
        const warnings = logs.filter((l) => /"level":40/.test(l) && /stytch call failed/.test(l)).length
        const started = Date.now()
        const res = await new Browser(app).post('/auth/b2b/passwords/authenticate', LOGIN)
        const elapsed = Date.now() - started
        t.equal(res.statusCode, fault.status)
        t.match(res.json(), { status_code: fault.status, error_type: fault.errorType, request_id: res.headers['x-request-id'] })
        t.notMatch(res.body, /should-never-be-used|Internal Server Error|Bad gateway|invalid_email/, 'nothing of the upstream body reaches the browser')
        t.notOk(res.headers['set-cookie'], 'no cookie set')
        if (fault.errorType === 'upstream_timeout') t.ok(elapsed >= TIMEOUT_MS - 5, `ended by the deadline (${elapsed} ms, deadline ${TIMEOUT_MS} ms)`)
        t.equal(fake.requests.length - calls, 1, 'exactly one upstream call')
        t.notOk(fake.requests.some((r) => r.url === '/redirected-elsewhere'), 'redirects are not followed')
        t.equal(logs.filter((l) => /"level":40/.test(l) && /stytch call failed/.test(l)).length - warnings, 1, 'one warn line')
        if (fault.socketsAfter === 'closed') {
          const socket = lastSocket
          t.ok(await until(() => socket?.destroyed === true), 'the connection the BFF gave up on was closed')
        }
        // a kept-alive connection and idle replacements (the undici bug above), reused call after call
        t.ok(await until(() => fake.openSockets() <= 3), `open sockets settle at 3 or fewer (now ${fake.openSockets()}): nothing accumulates`)
        peak.push(fake.openSockets())
      })
    }
  }
  t.comment(`open sockets to Stytch after each of ${peak.length} failures, once settled: max ${Math.max(...peak)}`)
})

t.test('connection refused: 502 upstream_unavailable at once, one attempt', async (t) => {
  const fake = await startFakeUpstream()
  const url = fake.url
  await fake.close()
  const { app, logs } = await buildTestApp(t, { STYTCH_API_URL: url, UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS) })
  const res = await new Browser(app).post('/auth/b2b/passwords/authenticate', LOGIN)
  t.equal(res.statusCode, 502)
  t.match(res.json(), { error_type: 'upstream_unavailable' })
  const warn = logs.find((l) => /stytch call failed/.test(l))
  t.match(warn, /"level":40/, 'logged at warn')
  t.match(warn, /ECONNREFUSED/, 'with the cause')
})

t.test('a burst of hanging calls: every request answers 504 in time, no retries, sockets closed and not accumulating', async (t) => {
  const { fake, app } = await setup(t)
  const hung: Socket[] = []
  fake.handler = (req) => { hung.push(req.socket) }
  const burst = async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => new Browser(app).post('/auth/b2b/passwords/authenticate', LOGIN)))
    return { statuses: [...new Set(answers.map((r) => r.statusCode))] }
  }
  const first = await burst()
  t.same(first.statuses, [504], 'all 20 answered 504')
  t.equal(fake.requests.length, 20, 'one upstream call per request')
  t.ok(await until(() => hung.every((s) => s.destroyed)), 'every hung connection was closed')
  // at most one idle replacement per aborted request, whenever they happen to connect
  t.ok(await until(() => fake.openSockets() <= 20), `open sockets settle at 20 or fewer after 20 hung calls (now ${fake.openSockets()})`)
  const second = await burst()
  t.same(second.statuses, [504])
  t.equal(fake.requests.length, 40)
  t.ok(await until(() => hung.every((s) => s.destroyed)))
  // the second burst reuses the first one's idle replacements: still 20 or fewer, not 40
  t.ok(await until(() => fake.openSockets() <= 20), `idle replacements are reused, not accumulated: 20 or fewer after 40 hung calls (now ${fake.openSockets()})`)
})

t.test('after faults, a healthy Stytch is used normally again; closing the app closes every socket', async (t) => {
  const { fake, app } = await setup(t)
  fake.handler = FAULTS[4]?.handler as Handler // reset mid-body
  t.equal((await new Browser(app).post('/auth/b2b/passwords/authenticate', LOGIN)).statusCode, 502)
  fake.handler = (_req, res) => json(res, 401, { status_code: 401, error_type: 'unauthorized_credentials', error_message: 'Unauthorized credentials.', request_id: 'request-id-ok' })
  const res = await new Browser(app).post('/auth/b2b/passwords/authenticate', LOGIN)
  t.equal(res.statusCode, 401)
  t.match(res.json(), { error_type: 'unauthorized_credentials', stytch_request_id: 'request-id-ok' })
  await app.close()
  t.ok(await until(() => fake.openSockets() === 0), 'no socket outlives the app')
})
