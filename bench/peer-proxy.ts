import { readFileSync } from 'node:fs'
import proxy from '@fastify/http-proxy'
import Fastify from 'fastify'
import type { Fixture } from './fixture.js'

// The peer the login is compared against: a bare pass-through of the login call with
// @fastify/http-proxy. It injects the Basic header and does nothing else: no logging, no body
// parsing, no cookie, no rate limit, and Stytch's tokens reach the client. It is what a BFF that
// adds nothing would cost, measured in the same run and pinned exactly like the service.
//
//   node --import tsx bench/peer-proxy.ts <fixture.json> <upstream origin>
//
// POST /auth/b2b/passwords/authenticate -> <upstream>/v1/b2b/passwords/authenticate
// Prints {"port": n} once listening.

const fixture = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Fixture
const upstream = process.argv[3] ?? ''
const authorization = 'Basic ' + Buffer.from(`${fixture.projectId}:${fixture.secret}`).toString('base64')

const app = Fastify({ logger: false })
app.get('/healthz', async () => ({ status: 'ok' }))
await app.register(proxy, {
  upstream,
  prefix: '/auth/b2b/passwords/authenticate',
  rewritePrefix: '/v1/b2b/passwords/authenticate',
  httpMethods: ['POST'],
  replyOptions: {
    rewriteRequestHeaders: (_request, headers) => ({ ...headers, authorization })
  }
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n')
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => { void app.close().finally(() => process.exit(0)) })
