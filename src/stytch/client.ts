import { type Dispatcher, Pool, errors as undiciErrors } from 'undici'
import { BffError, errors } from '../errors.js'

// The upstream client: one keep-alive pool to Stytch, HTTP Basic, a hard deadline per call,
// redirects never followed (undici's request does not follow them), and the error mapping of
// SPEC sections 4 and 5. Exactly one upstream call per BFF call: no retries.

export const MAX_UPSTREAM_BODY_BYTES = 1024 * 1024

export type StytchBody = Record<string, unknown>

export interface UpstreamObservation {
  /** Stytch path without the base path, e.g. /v1/b2b/passwords/authenticate */
  endpoint: string
  /** HTTP status, or the BFF error type when no usable answer came */
  status: string
  seconds: number
  /** set when the call failed at the transport or protocol level (not a Stytch 4xx): no secrets, no bodies */
  failure?: { errorType: string; cause: string }
}

export interface StytchClientOptions {
  apiUrl: string
  projectId: string
  secret: string
  timeoutMs: number
  connections?: number
  /** called once per upstream call (metrics, logs) */
  observe?: (o: UpstreamObservation) => void
}

export class StytchClient {
  readonly apiUrl: string
  private readonly pool: Pool
  private readonly basePath: string
  private readonly authorization: string
  private readonly timeoutMs: number
  private readonly observe: ((o: UpstreamObservation) => void) | undefined

  constructor (opts: StytchClientOptions) {
    const url = new URL(opts.apiUrl)
    this.apiUrl = opts.apiUrl
    this.basePath = url.pathname.replace(/\/+$/, '')
    this.authorization = 'Basic ' + Buffer.from(`${opts.projectId}:${opts.secret}`).toString('base64')
    this.timeoutMs = opts.timeoutMs
    this.observe = opts.observe
    this.pool = new Pool(url.origin, {
      connections: opts.connections ?? 128,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      connect: { timeout: Math.min(opts.timeoutMs, 10_000) }
    })
  }

  /** POST a JSON body to a Stytch path (e.g. /v1/sessions/authenticate). Resolves with the 2xx JSON body. */
  post (path: string, body: unknown): Promise<StytchBody> {
    return this.call('POST', path, JSON.stringify(body))
  }

  /** GET a Stytch path (JWKS). */
  get (path: string): Promise<StytchBody> {
    return this.call('GET', path, undefined)
  }

  close (): Promise<void> {
    return this.pool.destroyed ? Promise.resolve() : this.pool.close()
  }

  /** Abort every call still in flight (shutdown deadline); a pending or later close() then resolves. */
  destroy (): Promise<void> {
    return this.pool.destroy()
  }

  private async call (method: 'GET' | 'POST', path: string, payload: string | undefined): Promise<StytchBody> {
    const started = performance.now()
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), this.timeoutMs)
    let status = 'error'
    let failure: UpstreamObservation['failure']
    const fail = (error: BffError, cause: string): BffError => {
      failure = { errorType: error.errorType, cause }
      return error
    }
    try {
      const res = await this.pool.request({
        method,
        path: this.basePath + path,
        headers: payload === undefined
          ? { authorization: this.authorization, accept: 'application/json' }
          : { authorization: this.authorization, accept: 'application/json', 'content-type': 'application/json' },
        body: payload,
        signal: controller.signal
      })
      status = String(res.statusCode)
      // The status decides first: any 5xx is "unavailable" whatever its body.
      if (res.statusCode >= 500) { discard(res.body); throw fail(errors.upstreamUnavailable(), `status ${res.statusCode}`) }
      if (res.statusCode < 200 || (res.statusCode >= 300 && res.statusCode < 400)) {
        discard(res.body)
        throw fail(errors.upstreamInvalidResponse(), `status ${res.statusCode}`)
      }
      const declared = Number(res.headers['content-length'])
      if (declared > MAX_UPSTREAM_BODY_BYTES) { discard(res.body); throw fail(errors.upstreamInvalidResponse(), 'body too large') }
      // A declared length is already bounded (undici refuses a body longer than it says): read it in
      // one go. Without one (chunked), count while reading.
      const text = declared >= 0 ? await res.body.text() : await readBounded(res.body)
      if (text === undefined) throw fail(errors.upstreamInvalidResponse(), 'body too large')
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw fail(errors.upstreamInvalidResponse(), 'body is not JSON')
      }
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw fail(errors.upstreamInvalidResponse(), 'body is not a JSON object')
      const body = json as StytchBody
      if (res.statusCode >= 400) {
        const errorType = typeof body.error_type === 'string' ? body.error_type : undefined
        if (!errorType) throw fail(errors.upstreamInvalidResponse(), `status ${res.statusCode} without error_type`)
        throw errors.stytch(res.statusCode, errorType,
          typeof body.error_message === 'string' ? body.error_message : errorType,
          typeof body.request_id === 'string' ? body.request_id : undefined)
      }
      return body
    } catch (err) {
      if (err instanceof BffError) {
        if (status === 'error') status = err.errorType
        throw err
      }
      const mapped = controller.signal.aborted || isTimeout(err) ? errors.upstreamTimeout() : errors.upstreamUnavailable()
      status = mapped.errorType
      throw fail(mapped, describe(err))
    } finally {
      clearTimeout(timer)
      this.observe?.({ endpoint: path, status, seconds: (performance.now() - started) / 1000, ...(failure ? { failure } : {}) })
    }
  }
}

function isTimeout (err: unknown): boolean {
  return err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    err instanceof undiciErrors.ConnectTimeoutError
}

// Only the class and code of a network error: never its request (which holds the body).
function describe (err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code
    return `${err.name}${typeof code === 'string' ? ` ${code}` : ''}`
  }
  return 'unknown error'
}

/** The body as text, or undefined (body dropped) once it passes MAX_UPSTREAM_BODY_BYTES. */
async function readBounded (body: Dispatcher.ResponseData['body']): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_UPSTREAM_BODY_BYTES) { discard(body); return undefined }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

// Drop an unread body without an unhandled 'error' event; the socket is not reused for it.
function discard (body: { dump: () => Promise<void> }): void {
  body.dump().catch(() => {})
}
