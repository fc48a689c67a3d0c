import { type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify'
import { destination, stdSerializers } from 'pino'
import type { Config } from './config.js'

// pino options: JSON logs, request lines without query strings, and redaction of anything that
// could carry a password, token, cookie or the Stytch secret, in two layers:
//   1. keys: any key that names a secret (password, *token*, cookie, authorization, secret, jwt,
//      verifier, codes) is replaced at any depth of a logged object, errors included;
//   2. the final line: the Stytch secret, its Basic credentials and anything shaped like a JWT
//      are replaced wherever they appear, messages and error stacks included.
// Request and response bodies and headers are never logged: the req/res serializers keep only
// method, path, id, client IP and status. (pino's redact paths are not used: layer 1 runs before
// them on every key they could name, and they cost about 3% of a request.)

export const CENSOR = '[REDACTED]'

/** keys whose value is never written, at any depth */
export const SENSITIVE_KEY = /pass(word|wd)?|token|secret|cookie|authori[sz]ation|jwt|verifier|challenge|recovery_code|^code$|^otp|^totp/i

const JWT = /eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g
const MAX_DEPTH = 8

export function loggerOptions (config: Config): NonNullable<Exclude<FastifyServerOptions['logger'], boolean>> {
  const scrubLine = lineScrubber(config)
  return {
    level: config.logLevel,
    formatters: { log: (object) => scrub(object, 0) as Record<string, unknown> },
    hooks: { streamWrite: scrubLine },
    serializers: {
      // clientIp: resolved once per request (plugins/security.ts); ip for anything else
      req: (req: { method: string; url: string; id: string; ip?: string; clientIp?: string }) => ({
        method: req.method,
        url: pathOnly(req.url),
        id: req.id,
        ip: req.clientIp || req.ip
      }),
      // spread: pino's serialized error is not a plain object, and its own fields may hold anything
      err: (err: Error) => scrub({ ...stdSerializers.err(err) }, 0) as ReturnType<typeof stdSerializers.err>
    }
  }
}

/** The path of a URL without its query string or fragment. */
export function pathOnly (url: string | undefined): string {
  if (url === undefined) return ''
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

/**
 * Plain objects and arrays with every sensitive key censored, copied only where something
 * changes (a request line, with nothing to censor, is passed through without a copy); other
 * values as they are.
 */
export function scrub (value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) return '[…]'
    let copy: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const next = scrub(value[i], depth + 1)
      if (next !== value[i]) (copy ??= value.slice())[i] = next
    }
    return copy ?? value
  }
  const proto = Object.getPrototypeOf(value)
  // Class instances (the request, the reply) are left to their serializers.
  if (proto !== Object.prototype && proto !== null) return value
  if (depth >= MAX_DEPTH) return '[…]'
  let copy: Record<string, unknown> | undefined
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key]
    const next = SENSITIVE_KEY.test(key) && v !== undefined && v !== null ? CENSOR : scrub(v, depth + 1)
    if (next !== v) (copy ??= { ...value })[key] = next
  }
  return copy ?? value
}

/** Last line of defence on the serialized line: the secret, the Basic credentials, any JWT. */
export function lineScrubber (config: Pick<Config, 'projectId' | 'secret'>): (line: string) => string {
  const needles: string[] = []
  if (config.secret.length >= 4) {
    needles.push(config.secret, JSON.stringify(config.secret).slice(1, -1))
    needles.push(Buffer.from(`${config.projectId}:${config.secret}`).toString('base64'))
  }
  const unique = [...new Set(needles)]
  return (line) => {
    for (const needle of unique) {
      if (line.includes(needle)) line = line.replaceAll(needle, CENSOR)
    }
    return line.includes('eyJ') ? line.replace(JWT, CENSOR) : line
  }
}

/**
 * One log line per request, written when it completes: method, path (no query), request id,
 * client IP, status and response time. Fastify's default writes two lines per request (incoming +
 * completed), which doubled the logging cost at production level.
 *
 * excludePaths (LOG_EXCLUDE_PATHS): no line for a 2xx or 3xx answer on these paths, matched
 * against the path without its query string or the route's pattern (/auth/verify/*). An error or
 * a 4xx/5xx answer is always written.
 */
export class RequestLog extends LogController {
  readonly #exclude: Set<string> | undefined

  constructor (excludePaths: readonly string[] = []) {
    super()
    this.#exclude = excludePaths.length > 0 ? new Set(excludePaths) : undefined
  }

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored')
    else if (this.#exclude === undefined || reply.statusCode >= 400 || !this.#excluded(request)) reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed')
  }

  #excluded (request: FastifyRequest): boolean {
    const exclude = this.#exclude as Set<string>
    const pattern = request.routeOptions.url
    return (pattern !== undefined && exclude.has(pattern)) || exclude.has(pathOnly(request.url))
  }
}

/**
 * stdout without blocking the event loop. Lines are copied into a 32 KiB buffer and handed to
 * pino's asynchronous destination (sonic-boom) when it is full, and at least every 250 ms. A write
 * to a pipe (a container's stdout) costs a system call, a thread hand-off and waking the reader:
 * once per line it was about a fifth of a cheap request's CPU. Copying (rather than keeping the
 * line strings) lets every line die young instead of being promoted by the garbage collector while
 * it waits, and sonic-boom's own minLength buffering re-measured its whole buffer on every line.
 * pino's exit hook calls flushSync, which empties the buffer first, so nothing is lost when the
 * process exits or crashes.
 */
export function logDestination (flushEveryMs = 250, batchBytes = 32 * 1024): ReturnType<typeof destination> {
  const sonic = destination({ dest: 1, sync: false })
  const write = sonic.write.bind(sonic)
  const flush = sonic.flush.bind(sonic)
  const flushSync = sonic.flushSync.bind(sonic)
  const batch = Buffer.allocUnsafe(2 * batchBytes)
  let used = 0
  const drain = (): void => {
    if (used === 0) return
    const text = batch.toString('utf8', 0, used)
    used = 0
    write(text)
  }
  sonic.write = (line: string): boolean => {
    // a UTF-16 unit is at most 3 bytes of UTF-8
    if (line.length * 3 > batch.length - used) {
      drain()
      if (line.length * 3 > batch.length) return write(line)
    }
    used += batch.write(line, used)
    if (used >= batchBytes) drain()
    return true
  }
  sonic.flush = (cb?: (err?: Error) => void): void => { drain(); flush(cb) }
  sonic.flushSync = (): void => { drain(); flushSync() }
  const timer = setInterval(() => { try { drain() } catch { /* destination closed */ } }, flushEveryMs)
  timer.unref()
  sonic.once('close', () => clearInterval(timer))
  return sonic
}
