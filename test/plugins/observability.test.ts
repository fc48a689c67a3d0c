import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { startFakeUpstream } from '../fake-upstream.js'
import { Browser, buildTestApp, DEMO } from '../helper.js'

// GET /metrics as Prometheus scrapes it: the metric names of docs/contract.md, bounded labels.

async function scrape (app: FastifyInstance): Promise<{ status: number; type: string | undefined; text: string }> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  return { status: res.statusCode, type: res.headers['content-type'] as string | undefined, text: res.body }
}

function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    const labelPart = line.slice(name.length, line.lastIndexOf(' '))
    if (wanted.every((w) => labelPart.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

t.test('/metrics serves the documented metric names in Prometheus text format', async (t) => {
  const { app } = await buildTestApp(t)
  const { status, type, text } = await scrape(app)
  t.equal(status, 200)
  t.match(type, /^text\/plain; version=0\.0\.4/)
  for (const [name, kind] of [
    ['http_requests_total', 'counter'],
    ['http_request_duration_seconds', 'histogram'],
    ['stytch_upstream_requests_total', 'counter'],
    ['stytch_upstream_duration_seconds', 'histogram'],
    ['rate_limited_total', 'counter'],
    ['rate_limit_redis_failures_total', 'counter']
  ]) {
    t.match(text, new RegExp(`^# TYPE ${name} ${kind}$`, 'm'), `${name} is a ${kind}`)
  }
  t.match(text, /^process_cpu_user_seconds_total /m, 'process metrics too')
  t.notMatch(text, /rate_limit_redis_connected/, 'no Redis gauge without REDIS_URL')
})

t.test('a login is counted by route pattern, method and status, with its upstream call', async (t) => {
  const { app } = await buildTestApp(t)
  const browser = new Browser(app)
  t.equal((await browser.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: DEMO.password })).statusCode, 200)
  t.equal((await browser.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: 'wrong-password-1' })).statusCode, 401)
  t.equal((await browser.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org })).statusCode, 400)
  const { text } = await scrape(app)
  const route = { route: '/auth/b2b/passwords/authenticate', method: 'POST' }
  t.equal(sample(text, 'http_requests_total', { ...route, status: '200' }), 1)
  t.equal(sample(text, 'http_requests_total', { ...route, status: '401' }), 1)
  t.equal(sample(text, 'http_requests_total', { ...route, status: '400' }), 1)
  t.equal(sample(text, 'http_request_duration_seconds_count', { ...route, status: '200' }), 1)
  t.ok((sample(text, 'http_request_duration_seconds_sum', { ...route, status: '200' }) ?? -1) > 0, 'a duration was observed')
  t.equal(sample(text, 'http_request_duration_seconds_bucket', { ...route, status: '200', le: '+Inf' }), 1)

  const endpoint = { endpoint: '/v1/b2b/passwords/authenticate' }
  t.equal(sample(text, 'stytch_upstream_requests_total', { ...endpoint, status: '200' }), 1)
  t.equal(sample(text, 'stytch_upstream_requests_total', { ...endpoint, status: '401' }), 1)
  t.equal(sample(text, 'stytch_upstream_duration_seconds_count', { ...endpoint, status: '200' }), 1)
  t.equal(sample(text, 'stytch_upstream_requests_total', { ...endpoint, status: '400' }), undefined, 'the invalid body never went upstream')
})

t.test('labels stay bounded: unknown paths share one label, query strings never appear', async (t) => {
  const { app } = await buildTestApp(t)
  for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: `/scanner-probe-${i}/wp-login.php` })
  await app.inject({ method: 'GET', url: '/auth/session?token=canary-query-token' })
  const { text } = await scrape(app)
  t.equal(sample(text, 'http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }), 5)
  t.notMatch(text, /scanner-probe|wp-login/, 'no raw path as a label')
  t.notMatch(text, /canary-query-token/, 'no query string as a label')
  t.equal(sample(text, 'http_requests_total', { route: '/auth/session', method: 'GET', status: '401' }), 1)
})

t.test('upstream failures are counted with the BFF error type as status', async (t) => {
  const fake = await startFakeUpstream()
  t.teardown(() => fake.close())
  fake.handler = (_req, res) => { res.writeHead(503, { 'content-type': 'text/html' }).end('<html>down</html>') }
  const { app } = await buildTestApp(t, { STYTCH_API_URL: fake.url })
  const browser = new Browser(app)
  t.equal((await browser.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: 'whatever-123' })).statusCode, 502)
  fake.handler = (_req, res) => { res.writeHead(200, { 'content-type': 'application/json' }).end('{not json') }
  t.equal((await browser.post('/auth/b2b/passwords/authenticate', { organization_id: DEMO.org, email_address: DEMO.email, password: 'whatever-123' })).statusCode, 502)
  const { text } = await scrape(app)
  t.equal(sample(text, 'stytch_upstream_requests_total', { endpoint: '/v1/b2b/passwords/authenticate', status: '503' }), 1, 'a 5xx keeps its status')
  t.equal(sample(text, 'stytch_upstream_requests_total', { endpoint: '/v1/b2b/passwords/authenticate', status: '200' }), 1, 'garbage with a 200 is counted as a 200 call')
  t.equal(sample(text, 'http_requests_total', { route: '/auth/b2b/passwords/authenticate', method: 'POST', status: '502' }), 2)
})

t.test('each app has its own registry', async (t) => {
  const a = await buildTestApp(t)
  const b = await buildTestApp(t)
  await a.app.inject({ method: 'GET', url: '/healthz' })
  await a.app.inject({ method: 'GET', url: '/healthz' })
  t.equal(sample((await scrape(a.app)).text, 'http_requests_total', { route: '/healthz' }), 2)
  t.equal(sample((await scrape(b.app)).text, 'http_requests_total', { route: '/healthz' }), undefined)
})
