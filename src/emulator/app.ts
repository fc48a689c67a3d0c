import { randomUUID, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { EmulatorContext, OutboxMessage } from './context.js'
import { StytchApiError } from './errors.js'
import { asBody } from './fields.js'
import { KeyRing } from './keys.js'
import type { EmulatorRoute } from './route.js'
import { b2bMfaRoutes } from './routes/b2b-mfa.js'
import { b2bPasswordRoutes } from './routes/b2b-passwords.js'
import { b2bSessionRoutes } from './routes/b2b-sessions.js'
import { consumerRoutes } from './routes/consumer.js'
import { jwksRoutes } from './routes/jwks.js'
import { keepLast, LIMITS, Store, type Clock } from './store.js'
// server.ts loads this module alone (the emulator is its own build): the demo page's view of it comes along
export { emulatorDemo } from './demo.js'

export const DEFAULT_PROJECT_ID = 'project-test-11111111-1111-4111-8111-111111111111'
export const DEFAULT_SECRET = 'emulator-secret-local-only'
export const DEFAULT_DEMO_PASSWORD = 'demo-password-123!'

export interface EmulatorOptions {
  projectId?: string
  secret?: string
  demoPassword?: string
  /** Milliseconds since the epoch; default Date.now. `clock.advance()` adds to it. */
  now?: () => number
  logger?: boolean
}

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: unknown
  status: number
  response: unknown
}

export interface Emulator {
  projectId: string
  secret: string
  demoPassword: string
  clock: Clock
  requests: RecordedRequest[]
  count(pathPrefix?: string): number
  outbox: OutboxMessage[]
  rotateKeys(): Promise<void>
  store: Store
}

declare module 'fastify' {
  interface FastifyInstance {
    emulator: Emulator
  }
}

export const routes: EmulatorRoute[] = [...b2bPasswordRoutes, ...b2bSessionRoutes, ...b2bMfaRoutes, ...consumerRoutes, ...jwksRoutes]

const requestId = (): string => `request-id-test-${randomUUID()}`

function errorBody (status: number, type: string, message: string): Record<string, unknown> {
  return {
    status_code: status,
    request_id: requestId(),
    error_type: type,
    error_message: message,
    error_url: `https://stytch.com/docs/api/errors/${status}`
  }
}

function sameSecret (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** An in-memory Stytch (Passwords, Sessions, B2B discovery and MFA) for tests and local development. */
export async function buildEmulator (opts: EmulatorOptions = {}): Promise<FastifyInstance> {
  const baseNow = opts.now ?? Date.now
  let offset = 0
  const clock: Clock = { now: () => baseNow() + offset, advance: (ms) => { offset += ms } }
  const keys = new KeyRing()
  await keys.rotate()
  const ctx: EmulatorContext = {
    projectId: opts.projectId ?? DEFAULT_PROJECT_ID,
    secret: opts.secret ?? DEFAULT_SECRET,
    demoPassword: opts.demoPassword ?? process.env.EMULATOR_DEMO_PASSWORD ?? DEFAULT_DEMO_PASSWORD,
    clock,
    store: new Store(clock),
    keys,
    outbox: []
  }
  ctx.store.seed(ctx.demoPassword)

  const requests: RecordedRequest[] = []
  // count() must stay exact when the log drops old entries: keep a total per path too.
  const perPath = new Map<string, number>()
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: 1024 * 1024 })
  app.decorate('emulator', {
    projectId: ctx.projectId,
    secret: ctx.secret,
    demoPassword: ctx.demoPassword,
    clock,
    requests,
    count: (prefix = '') => {
      let n = 0
      for (const [path, c] of perPath) if (path.startsWith(prefix)) n += c
      return n
    },
    outbox: ctx.outbox,
    rotateKeys: () => keys.rotate(),
    store: ctx.store
  } satisfies Emulator)

  // Stytch clients always send JSON; anything else is parsed as JSON too, an empty body as {}.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, raw, done) => {
    const text = String(raw)
    if (text.trim() === '') return done(null, {})
    try {
      done(null, JSON.parse(text) as unknown)
    } catch {
      done(new StytchApiError(400, 'bad_request', 'The request body is not valid JSON.'), undefined)
    }
  })

  app.addHook('onSend', async (request, reply, payload) => {
    let response: unknown = payload
    if (typeof payload === 'string') {
      try {
        response = JSON.parse(payload) as unknown
      } catch {
        response = payload
      }
    }
    const path = request.url.split('?')[0] ?? request.url
    perPath.set(path, (perPath.get(path) ?? 0) + 1)
    requests.push({
      method: request.method,
      path,
      headers: { ...request.headers },
      body: request.body,
      status: reply.statusCode,
      response
    })
    keepLast(requests, LIMITS.log)
    return payload
  })

  const checkCredentials = async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization ?? ''
    const [scheme, encoded] = header.split(' ')
    const decoded = scheme?.toLowerCase() === 'basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8') : ''
    const colon = decoded.indexOf(':')
    const ok = colon > 0 && sameSecret(decoded.slice(0, colon), ctx.projectId) && sameSecret(decoded.slice(colon + 1), ctx.secret)
    if (!ok) throw new StytchApiError(401, 'unauthorized_credentials', 'Unauthorized credentials.')
  }

  app.setErrorHandler((error: unknown, _request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof StytchApiError) {
      return reply.status(error.statusCode).send(errorBody(error.statusCode, error.errorType, error.message))
    }
    const status = (error as { statusCode?: number }).statusCode
    if (status !== undefined && status >= 400 && status < 500) {
      const type = status === 413 ? 'request_too_large' : 'bad_request'
      return reply.status(status).send(errorBody(status, type, (error as Error).message))
    }
    reply.log.error({ err: error }, 'emulator internal error')
    return reply.status(500).send(errorBody(500, 'internal_server_error', 'Oops, something seems to have gone wrong.'))
  })

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody(404, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`))
  })

  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      ...(route.auth === false ? {} : { onRequest: checkCredentials }),
      handler: async (request) => {
        const body = asBody(route.method === 'GET' ? request.query : request.body)
        const result = await route.handle(ctx, body, request.params as Record<string, string>)
        return { status_code: 200, request_id: requestId(), ...result }
      }
    })
  }
  return app
}
