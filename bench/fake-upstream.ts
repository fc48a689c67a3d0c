import { createPrivateKey, randomUUID, sign } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Fixture } from './fixture.js'

// A lean fake Stytch for the benchmark: plain node:http, prebuilt answers, nothing else. It is the
// ceiling the service is compared against, so it must cost as little as possible per request.
//
//   node --import tsx bench/fake-upstream.ts <fixture.json> [port]
//
// POST /v1/b2b/passwords/authenticate   the captured emulator login body, fresh session JWT
// POST /v1/b2b/sessions/authenticate    the captured sessions/authenticate body, fresh session JWT
// GET  /v1/b2b/sessions/jwks/<project>  the JWKS of the fake's key (no auth, like Stytch)
// GET  /__bench/stats                   requests served per path (read between phases)
// The JWT (and the session times) are rebuilt every 5 s so iat always stays fresh.

const fixture = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Fixture
const port = Number(process.argv[3] ?? 0)
const key = createPrivateKey(fixture.privateKeyPem)
const authorization = 'Basic ' + Buffer.from(`${fixture.projectId}:${fixture.secret}`).toString('base64')
const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: fixture.kid })).toString('base64url')
const SESSION_CLAIM = 'https://stytch.com/session'
const SESSION_MINUTES = 60

let loginAnswer: Buffer = Buffer.alloc(0)
let sessionAnswer: Buffer = Buffer.alloc(0)
const jwksAnswer = Buffer.from(JSON.stringify(fixture.jwks))
const unauthorized = Buffer.from(JSON.stringify({ status_code: 401, request_id: 'request-id-bench-unauthorized', error_type: 'unauthorized_credentials', error_message: 'Unauthorized credentials.', error_url: 'https://stytch.com/docs/api/errors/401' }))
const notFound = Buffer.from(JSON.stringify({ status_code: 404, request_id: 'request-id-bench-not-found', error_type: 'route_not_found', error_message: 'No such route.', error_url: 'https://stytch.com/docs/api/errors/404' }))

function withSessionTimes<T extends Record<string, unknown>> (session: T, now: number): T {
  return { ...session, last_accessed_at: new Date(now).toISOString(), expires_at: new Date(now + SESSION_MINUTES * 60_000).toISOString() }
}

function rebuild (): void {
  const now = Date.now()
  const iat = Math.floor(now / 1000)
  const claims = { ...fixture.jwtClaims }
  const sessionClaim = claims[SESSION_CLAIM]
  if (sessionClaim !== null && typeof sessionClaim === 'object') claims[SESSION_CLAIM] = withSessionTimes(sessionClaim as Record<string, unknown>, now)
  Object.assign(claims, { iat, nbf: iat, exp: iat + 300, jti: randomUUID() })
  const signingInput = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  const jwt = `${signingInput}.${sign('sha256', Buffer.from(signingInput), key).toString('base64url')}`
  const answer = (body: Record<string, unknown>): Buffer => {
    const memberSession = body.member_session as Record<string, unknown> | undefined
    return Buffer.from(JSON.stringify({
      ...body,
      request_id: `request-id-test-${randomUUID()}`,
      session_jwt: jwt,
      ...(memberSession ? { member_session: withSessionTimes(memberSession, now) } : {})
    }))
  }
  loginAnswer = answer(fixture.loginBody)
  sessionAnswer = answer(fixture.sessionBody)
}
rebuild()
setInterval(rebuild, 5000).unref()

const counts: Record<string, number> = {}
const jwksPath = `/v1/b2b/sessions/jwks/${fixture.projectId}`

function send (res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
}

function answer (req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/'
  if (path === '/__bench/stats') return send(res, 200, Buffer.from(JSON.stringify(counts)))
  counts[path] = (counts[path] ?? 0) + 1
  if (req.method === 'GET' && path === jwksPath) return send(res, 200, jwksAnswer)
  if (req.method !== 'POST') return send(res, 404, notFound)
  if (req.headers.authorization !== authorization) return send(res, 401, unauthorized)
  if (path === '/v1/b2b/passwords/authenticate') return send(res, 200, loginAnswer)
  if (path === '/v1/b2b/sessions/authenticate') return send(res, 200, sessionAnswer)
  send(res, 404, notFound)
}

const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  // answer once the request body has been read, as a real server would
  req.on('end', () => answer(req, res))
  req.resume()
})
server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : port }) + '\n')
})
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(() => process.exit(0)) })
