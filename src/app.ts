import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { serializerCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import configPlugin from '../plugins/config.js'
import errorHandler from '../plugins/error-handler.js'
import lifecycle from '../plugins/lifecycle.js'
import observability from '../plugins/observability.js'
import rateLimits from '../plugins/rate-limit.js'
import security, { proxyTrust } from '../plugins/security.js'
import stytch from '../plugins/stytch.js'
import swagger from '../plugins/swagger.js'
import demoRoutes from '../routes/demo.js'
import healthRoutes from '../routes/health.js'
import proxyRoutes from '../routes/proxy.js'
import sessionRoutes from '../routes/session.js'
import verifyRoutes from '../routes/verify.js'
import type { Config } from './config.js'
import type { DemoOptions } from './demo.js'
import { logDestination, loggerOptions, RequestLog } from './logger.js'

// buildApp(config): plugins first, then routes. Nothing else.

export interface BuildOptions {
  /** pino options or a logger instance; defaults to loggerOptions(config) writing to stdout asynchronously */
  logger?: FastifyServerOptions['logger']
  loggerInstance?: FastifyServerOptions['loggerInstance']
  /** the demo page's needs; it is served only in emulator mode, never in production (routes/demo.ts) */
  demo?: DemoOptions
  /** milliseconds since the epoch for JWT verification and cookie lifetimes; tests inject a clock */
  now?: () => number
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export async function buildApp (config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const options: FastifyServerOptions = {
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: opts.logger ?? { ...loggerOptions(config), stream: logDestination() } }),
    logController: new RequestLog(config.logExcludePaths),
    bodyLimit: config.bodyLimitBytes,
    // false | IPs/CIDRs | a hop count as an explicit trust function (plugins/security.ts)
    trustProxy: proxyTrust(config.trustProxy),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 256 },
    // while draining, plugins/lifecycle.ts answers 503 shutting_down in the error envelope
    return503OnClosing: false,
    // slow clients cannot hold sockets; an idle socket outlives the longest upstream call
    connectionTimeout: Math.max(30_000, config.upstreamTimeoutMs + 5_000),
    requestTimeout: 30_000,
    keepAliveTimeout: 10_000
  }
  // how often Node enforces headersTimeout/requestTimeout (default every 30 s)
  Object.assign(options, { http: { connectionsCheckingInterval: 1_000 } })
  const app = Fastify(options).withTypeProvider<ZodTypeProvider>()
  app.server.headersTimeout = 15_000

  app.setSerializerCompiler(serializerCompiler)

  // each plugin declares the ones it needs (fastify-plugin checks the order)
  await app.register(configPlugin, { config })
  await app.register(errorHandler)
  await app.register(observability)
  await app.register(security)
  await app.register(lifecycle)
  await app.register(rateLimits)
  await app.register(stytch, opts.now ? { now: opts.now } : {})
  await app.register(swagger)

  await app.register(healthRoutes)
  await app.register(async (auth) => {
    await auth.register(proxyRoutes)
    await auth.register(sessionRoutes)
    await auth.register(verifyRoutes)
  }, { prefix: config.prefix })
  if (opts.demo) await app.register(demoRoutes, opts.demo)

  return app
}
