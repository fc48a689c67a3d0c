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
 * stdout without blocking the event loop: the stream pino writes to. Lines are copied into a
 * 32 KiB buffer and handed to pino's asynchronous destination (sonic-boom) as one write when it is
 * full, and at least every 250 ms. A write to a pipe (a container's stdout) costs a system call, a
 * thread hand-off and waking the reader: once per line it was about a fifth of a cheap request's
 * CPU. Copying (rather than keeping the line strings) lets every line die young.
 *
 * Why not sonic-boom's own `minLength`: it appends each line to a string and measures the whole
 * pending string (Buffer.byteLength) on every write, which flattens it; measured on 200k request
 * lines piped to a reader, it cost more CPU per line than no batching at all (about 7.6 µs against
 * 6.3-7.2 µs unbatched and 4.8-5.3 µs here, pino's serialization included). This class only uses
 * sonic-boom's public write/flush/flushSync; it replaces none of its methods.
 *
 * Exit: pino's exit hook empties sonic-boom; this stream's own exit hook first hands it what is
 * still in the buffer and flushes synchronously, so nothing is lost when the process exits.
 */
export class BatchedDestination {
  private readonly batch: Buffer
  private used = 0
  private readonly timer: NodeJS.Timeout

  constructor (
    private readonly sonic: ReturnType<typeof destination> = destination({ dest: 1, sync: false }),
    flushEveryMs = 250,
    private readonly batchBytes = 32 * 1024
  ) {
    this.batch = Buffer.allocUnsafe(2 * batchBytes)
    this.timer = setInterval(() => { try { this.drain() } catch { /* destination closed */ } }, flushEveryMs)
    this.timer.unref()
    LIVE.add(this)
    sonic.once('close', () => { clearInterval(this.timer); LIVE.delete(this) })
  }

  write (line: string): boolean {
    // a UTF-16 unit is at most 3 bytes of UTF-8
    if (line.length * 3 > this.batch.length - this.used) {
      this.drain()
      if (line.length * 3 > this.batch.length) return this.sonic.write(line)
    }
    this.used += this.batch.write(line, this.used)
    if (this.used >= this.batchBytes) this.drain()
    return true
  }

  flush (cb?: (err?: Error) => void): void {
    this.drain()
    this.sonic.flush(cb)
  }

  flushSync (): void {
    this.drain()
    this.sonic.flushSync()
  }

  end (): void {
    this.drain()
    this.sonic.end()
  }

  private drain (): void {
    if (this.used === 0) return
    const text = this.batch.toString('utf8', 0, this.used)
    this.used = 0
    this.sonic.write(text)
  }
}

const LIVE = new Set<BatchedDestination>()
process.once('exit', () => {
  for (const stream of LIVE) {
    try { stream.flushSync() } catch { /* destination closed or not ready */ }
  }
})

/** The service's log stream: stdout, batched (BatchedDestination). */
export function logDestination (flushEveryMs = 250, batchBytes = 32 * 1024): BatchedDestination {
  return new BatchedDestination(destination({ dest: 1, sync: false }), flushEveryMs, batchBytes)
}
