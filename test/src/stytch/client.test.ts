import { createServer } from 'node:net'
import t from 'tap'
import { BffError } from '../../../src/errors.js'
import { StytchClient, type UpstreamObservation } from '../../../src/stytch/client.js'
import { json, startFakeUpstream } from '../../fake-upstream.js'

const fake = await startFakeUpstream()
t.teardown(() => fake.close())
const observed: UpstreamObservation[] = []
const client = new StytchClient({ apiUrl: fake.url, projectId: 'project-test-x', secret: 'top-secret', timeoutMs: 300, observe: (o) => observed.push(o) })
t.teardown(() => client.close())

async function failure (promise: Promise<unknown>): Promise<BffError> {
  try { await promise } catch (err) { if (err instanceof BffError) return err; throw err }
  throw new Error('expected a BffError')
}

t.beforeEach(() => { fake.requests.length = 0; observed.length = 0 })

t.test('sends HTTP Basic project_id:secret and JSON, returns the JSON body', async (t) => {
  fake.handler = (_req, res) => json(res, 200, { status_code: 200, request_id: 'r1', ok: true })
  const body = await client.post('/v1/passwords/authenticate', { email: 'a@b.c' })
  t.same(body, { status_code: 200, request_id: 'r1', ok: true })
  t.equal(fake.requests.length, 1)
  t.equal(fake.requests[0]?.method, 'POST')
  t.equal(fake.requests[0]?.url, '/v1/passwords/authenticate')
  t.equal(fake.requests[0]?.headers.authorization, 'Basic ' + Buffer.from('project-test-x:top-secret').toString('base64'))
  t.equal(fake.requests[0]?.headers['content-type'], 'application/json')
  t.same(JSON.parse(fake.requests[0]?.body ?? ''), { email: 'a@b.c' })
  t.match(observed, [{ endpoint: '/v1/passwords/authenticate', status: '200' }])
})

t.test('a base URL path prefix is kept', async (t) => {
  const prefixed = new StytchClient({ apiUrl: fake.url + '/stytch', projectId: 'p', secret: 's', timeoutMs: 300 })
  t.teardown(() => prefixed.close())
  fake.handler = (_req, res) => json(res, 200, { status_code: 200 })
  await prefixed.post('/v1/sessions/revoke', {})
  t.equal(fake.requests[0]?.url, '/stytch/v1/sessions/revoke')
})

t.test('Stytch 4xx passes through with its status, error_type and request id', async (t) => {
  fake.handler = (_req, res) => json(res, 401, { status_code: 401, request_id: 'request-id-test-9', error_type: 'unauthorized_credentials', error_message: 'Unauthorized credentials.' })
  const err = await failure(client.post('/v1/passwords/authenticate', {}))
  t.equal(err.statusCode, 401)
  t.equal(err.errorType, 'unauthorized_credentials')
  t.equal(err.message, 'Unauthorized credentials.')
  t.equal(err.stytchRequestId, 'request-id-test-9')
})

t.test('any 5xx is upstream_unavailable whatever its body', async (t) => {
  for (const status of [500, 503]) {
    fake.handler = (_req, res) => json(res, status, { error_type: 'bad_request', status_code: 400 })
    const err = await failure(client.post('/v1/x', {}))
    t.equal(err.statusCode, 502)
    t.equal(err.errorType, 'upstream_unavailable')
  }
  t.equal(fake.requests.length, 2, 'one upstream call per request, no retry')
})

t.test('3xx is never followed: upstream_invalid_response', async (t) => {
  fake.handler = (_req, res) => { res.writeHead(307, { location: '/v1/elsewhere' }).end() }
  const err = await failure(client.post('/v1/x', { password: 'hunter2' }))
  t.equal(err.errorType, 'upstream_invalid_response')
  t.equal(fake.requests.length, 1, 'the redirect target was not requested')
})

t.test('non-JSON, non-object, oversized and 4xx-without-error_type answers are invalid', async (t) => {
  const cases: Array<[string, (res: import('node:http').ServerResponse) => void]> = [
    ['html', (res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<html>') }],
    ['array', (res) => json(res, 200, [1, 2])],
    ['declared too large', (res) => { res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) }); res.write('{"a":"'); setTimeout(() => res.destroy(), 100) }],
    ['streamed too large', (res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"a":"' + 'x'.repeat(1024 * 1024 + 10) + '"}') }],
    ['4xx without error_type', (res) => json(res, 400, { oops: true })]
  ]
  for (const [name, handler] of cases) {
    fake.handler = (_req, res) => handler(res)
    const err = await failure(client.post('/v1/x', {}))
    t.equal(err.errorType, 'upstream_invalid_response', name)
    t.equal(err.statusCode, 502, name)
  }
})

t.test('a hang becomes upstream_timeout, ended by the configured deadline', async (t) => {
  fake.handler = () => { /* never answers */ }
  const started = Date.now()
  const err = await failure(client.post('/v1/x', {}))
  const elapsed = Date.now() - started
  t.equal(err.statusCode, 504)
  t.equal(err.errorType, 'upstream_timeout')
  // a lower bound only: the deadline (not something earlier) ended it; a hang is caught by the
  // test's own timeout, so nothing here depends on the machine's speed
  t.ok(elapsed >= 245, `answered after ${elapsed} ms, not before the deadline`)
  t.match(observed, [{ status: 'upstream_timeout', failure: { errorType: 'upstream_timeout' } }])
})

t.test('a refused connection is upstream_unavailable', async (t) => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as { port: number }).port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  const refused = new StytchClient({ apiUrl: `http://127.0.0.1:${port}`, projectId: 'p', secret: 's', timeoutMs: 1000 })
  t.teardown(() => refused.close())
  const err = await failure(refused.post('/v1/x', {}))
  t.equal(err.errorType, 'upstream_unavailable')
  t.equal(err.statusCode, 502)
})

t.test('failures never carry the body or the secret', async (t) => {
  fake.handler = (req) => { req.socket.destroy() }
  const err = await failure(client.post('/v1/x', { password: 'canary-password' }))
  t.equal(err.errorType, 'upstream_unavailable')
  const text = JSON.stringify(observed) + err.message + String(err.stack)
  t.notMatch(text, /canary-password|top-secret/)
})
