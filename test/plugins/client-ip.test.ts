import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import { buildTestApp, DEMO } from '../helper.js'

// TRUST_PROXY from outside: a listening BFF, clients connecting from several loopback addresses
// (127.0.0.x, each its own peer), and what the logs and the per-IP rate limits make of them.

interface Answer { status: number; requestId: string }

function send (base: URL, localAddress: string, path: string, forwardedFor?: string, body?: unknown): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: base.hostname,
      port: base.port,
      path,
      method: payload === undefined ? 'GET' : 'POST',
      localAddress,
      agent: false,
      headers: {
        ...(forwardedFor !== undefined ? { 'x-forwarded-for': forwardedFor } : {}),
        ...(payload !== undefined ? { 'content-type': 'application/json', 'x-csrf': '1' } : {})
      }
    }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']) }))
    })
    req.on('error', reject)
    req.end(payload)
  })
}

async function listening (t: Test, env: Record<string, string>) {
  const built = await buildTestApp(t, env)
  const base = new URL(await built.app.listen({ host: '127.0.0.1', port: 0 }))
  /** the client IP the request line of this request logged */
  const loggedIp = (requestId: string): string | undefined => {
    for (const line of built.logs) {
      const entry = JSON.parse(line) as { msg?: string; req?: { id?: string; ip?: string } }
      if (entry.msg === 'request completed' && entry.req?.id === requestId) return entry.req.ip
    }
    return undefined
  }
  /** the client IP the BFF resolved for one GET from `peer` */
  const clientIp = async (peer: string, forwardedFor?: string) => loggedIp((await send(base, peer, '/healthz', forwardedFor)).requestId)
  return { ...built, base, clientIp }
}

t.test('TRUST_PROXY=1: one gateway hop, whichever peer address the gateway connects from', async (t) => {
  const { base, clientIp } = await listening(t, { TRUST_PROXY: '1', RATE_LIMIT_AUTH_PER_MINUTE: '12' })
  t.equal(await clientIp('127.0.0.2', '198.51.100.7'), '198.51.100.7', 'the address the gateway appended is the client')
  t.equal(await clientIp('127.0.0.3', '6.6.6.6, 198.51.100.7'), '198.51.100.7', 'entries the client wrote itself (left of it) are not taken')
  t.equal(await clientIp('127.0.0.4'), '127.0.0.4', 'no X-Forwarded-For: the peer')

  // One client behind the gateway, the gateway connecting from varying addresses (replicas).
  const statuses: number[] = []
  for (let i = 0; i < 25; i++) {
    const peer = `127.0.0.${2 + (i % 5)}`
    const forwarded = `203.0.113.${i}, 198.51.100.7` // a browser varying its own header
    statuses.push((await send(base, peer, '/auth/b2b/passwords/authenticate', forwarded, { organization_id: DEMO.org, email_address: DEMO.email, password: 'wrong-password-1' })).status)
  }
  t.same(statuses, [...Array(12).fill(401), ...Array(13).fill(429)], '25 attempts with a limit of 12: 12 reach Stytch, 13 are refused')
  const other = await send(base, '127.0.0.2', '/auth/b2b/passwords/authenticate', '198.51.100.8', { organization_id: DEMO.org, email_address: 'other@example.com', password: 'wrong-password-1' })
  t.equal(other.status, 401, 'another client behind the same gateway has its own budget')
})

t.test('TRUST_PROXY=2: two hops (a load balancer, then the gateway)', async (t) => {
  const { clientIp } = await listening(t, { TRUST_PROXY: '2' })
  t.equal(await clientIp('127.0.0.2', '6.6.6.6, 198.51.100.7, 10.0.0.9'), '198.51.100.7', 'the address the load balancer saw')
  t.equal(await clientIp('127.0.0.3', '198.51.100.7'), '198.51.100.7', 'a shorter chain ends at its left-most entry')
})

t.test('TRUST_PROXY as an IP list: only the named peers are gateways', async (t) => {
  const { clientIp } = await listening(t, { TRUST_PROXY: '127.0.0.2, 127.0.0.3' })
  t.equal(await clientIp('127.0.0.2', '198.51.100.7'), '198.51.100.7', 'from a listed gateway: the forwarded client')
  t.equal(await clientIp('127.0.0.3', '198.51.100.8'), '198.51.100.8', 'from the other listed gateway')
  t.equal(await clientIp('127.0.0.3', '198.51.100.9, 127.0.0.2'), '198.51.100.9', 'through both gateways: the address the first one saw')
  t.equal(await clientIp('127.0.0.4', '198.51.100.7'), '127.0.0.4', 'from any other peer the header is ignored')
})

t.test('TRUST_PROXY as a CIDR: every peer in the range is a gateway', async (t) => {
  const { base, clientIp } = await listening(t, { TRUST_PROXY: '127.0.0.0/30', RATE_LIMIT_GLOBAL_PER_MINUTE: '3' })
  t.equal(await clientIp('127.0.0.2', '198.51.100.7'), '198.51.100.7', '127.0.0.2 is inside 127.0.0.0/30')
  t.equal(await clientIp('127.0.0.3', '198.51.100.8'), '198.51.100.8', '127.0.0.3 is inside 127.0.0.0/30')
  t.equal(await clientIp('127.0.0.5', '198.51.100.9'), '127.0.0.5', '127.0.0.5 is outside: the header is ignored')
  const spoofed: number[] = []
  for (let i = 1; i <= 4; i++) spoofed.push((await send(base, '127.0.0.6', '/auth/session', `192.0.2.${i}`)).status)
  t.same(spoofed, [401, 401, 401, 429], 'a peer outside the range cannot make new clients by rotating X-Forwarded-For')
})
