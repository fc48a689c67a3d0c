import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { json, startFakeUpstream } from '../fake-upstream.js'
import { Browser, buildTestApp, DEMO } from '../helper.js'

// /healthz, /readyz, /metrics as a load balancer, an orchestrator and a scraper see them.

const get = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers })

t.test('/healthz answers without calling Stytch', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  const res = await get(app, '/healthz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
  t.ok(res.headers['x-request-id'], 'carries X-Request-Id like every answer')
  t.equal(emulator.emulator.count(), 0, 'no upstream call')
})

t.test('/readyz is ready once the JWKS loaded, and does not probe again', async (t) => {
  const { app, emulator, config } = await buildTestApp(t)
  const first = await get(app, '/readyz')
  t.equal(first.statusCode, 200)
  t.same(first.json(), { status: 'ready', checks: { config: 'ok', upstream: 'jwks_loaded' } })
  t.equal(emulator.emulator.count(`/v1/b2b/sessions/jwks/${config.projectId}`), 1, 'one JWKS fetch')
  for (let i = 0; i < 5; i++) t.equal((await get(app, '/readyz')).statusCode, 200)
  t.equal(emulator.emulator.count(), 1, 'probes do not hammer Stytch')
})

t.test('/readyz is ready when the JWKS fails but Stytch answered a real call recently', async (t) => {
  const fake = await startFakeUpstream()
  fake.handler = (req, res) => {
    if (req.url?.includes('/jwks/')) return json(res, 503, { status_code: 503, error_type: 'internal_server_error', error_message: 'down', request_id: 'request-id-test-0' })
    json(res, 401, { status_code: 401, error_type: 'unauthorized_credentials', error_message: 'no', request_id: 'request-id-test-1' })
  }
  const { app, logs } = await buildTestApp(t, { STYTCH_API_URL: fake.url })
  t.teardown(() => fake.close())
  t.equal((await get(app, '/readyz')).statusCode, 503, 'a failing JWKS alone: not ready')
  t.equal((await new Browser(app).post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: 'wrong-password-1' })).statusCode, 401)
  await new Promise((resolve) => setTimeout(resolve, 1_100)) // the verifier retries the JWKS at most once a second
  const res = await get(app, '/readyz')
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready', checks: { config: 'ok', upstream: 'reachable' } })
  t.ok(logs.some((l) => /"level":40/.test(l) && /jwks/.test(l)), 'the failed JWKS fetch was logged at warn')
})

t.test('/readyz is 503 while Stytch cannot be reached, and says why', async (t) => {
  const fake = await startFakeUpstream()
  const url = fake.url
  await fake.close()
  const { app } = await buildTestApp(t, { STYTCH_API_URL: url })
  const res = await get(app, '/readyz')
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'not_ready', checks: { config: 'ok', upstream: 'unreachable' } })
})

t.test('/readyz answers within its probe budget when Stytch hangs', async (t) => {
  const fake = await startFakeUpstream()
  fake.handler = () => { /* never answers */ }
  const { app } = await buildTestApp(t, { STYTCH_API_URL: fake.url, UPSTREAM_TIMEOUT_MS: '20000' })
  t.teardown(() => fake.close()) // before the app closes: the hanging probe ends with the fake
  const res = await get(app, '/readyz')
  t.equal(res.statusCode, 503)
  // answered from its own probe budget, not the 20 s upstream deadline: the call it started is
  // still waiting on Stytch (the client closes the socket when its deadline passes)
  t.equal(fake.requests.length, 1, 'the probe reached Stytch')
  t.equal(fake.openSockets(), 1, 'and is still in flight when /readyz answered')
  const again = await get(app, '/readyz')
  t.equal(again.statusCode, 503)
  t.equal(fake.requests.length, 1, 'a probe still in flight is shared, not repeated')
})

t.test('while draining: /readyz 503 shutting_down, new requests 503 shutting_down, liveness and metrics still served', async (t) => {
  const { app, emulator } = await buildTestApp(t)
  t.equal((await get(app, '/readyz')).statusCode, 200)
  const before = emulator.emulator.count()
  app.lifecycle.drain()

  const ready = await get(app, '/readyz')
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { status_code: 503, error_type: 'shutting_down', request_id: ready.headers['x-request-id'] })
  t.equal(ready.headers.connection, 'close', 'the connection is closed after the answer')

  const login = await new Browser(app).post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })
  t.equal(login.statusCode, 503)
  t.match(login.json(), { error_type: 'shutting_down' })
  t.equal(login.headers.connection, 'close')
  t.equal((await get(app, '/auth/session')).statusCode, 503)
  t.equal(emulator.emulator.count(), before, 'nothing reached Stytch')

  t.equal((await get(app, '/healthz')).statusCode, 200, 'liveness still answers (the process is fine)')
  t.equal((await get(app, '/metrics')).statusCode, 200, 'a last scrape still works')
})

t.test('operations routes stay off the prefix and outside the CSRF guard', async (t) => {
  const { app } = await buildTestApp(t, { ALLOWED_ORIGINS: 'https://app.example.com' })
  for (const url of ['/healthz', '/readyz', '/metrics']) {
    const res = await get(app, url, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })
    t.equal(res.statusCode, 200, `${url} ignores Origin/Sec-Fetch-Site`)
    t.equal((await get(app, `/auth${url}`)).statusCode, 404, `/auth${url} does not exist`)
  }
  t.equal((await app.inject({ method: 'POST', url: '/healthz' })).statusCode, 405, 'GET only')
})
