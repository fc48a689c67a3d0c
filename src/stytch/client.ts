import { type Dispatcher, Pool, errors as undiciErrors } from 'undici'
import { BffError, errors } from '../errors.js'

// The upstream client: one keep-alive pool to Stytch, HTTP Basic, a hard deadline per call,
// redirects never followed (undici's dispatch does not follow them), and the error mapping of
// docs/contract.md (Errors, Calls to Stytch). Exactly one upstream call per BFF call: no retries.

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
  private readonly getHeaders: Record<string, string>
  private readonly postHeaders: Record<string, string>

  constructor (opts: StytchClientOptions) {
    const url = new URL(opts.apiUrl)
    this.apiUrl = opts.apiUrl
    this.basePath = url.pathname.replace(/\/+$/, '')
    this.authorization = 'Basic ' + Buffer.from(`${opts.projectId}:${opts.secret}`).toString('base64')
    this.timeoutMs = opts.timeoutMs
    this.observe = opts.observe
    this.getHeaders = { authorization: this.authorization, accept: 'application/json' }
    this.postHeaders = { ...this.getHeaders, 'content-type': 'application/json' }
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

  /**
   * GET a Stytch path (JWKS, session lists). The query is appended for the request only: metrics
   * and logs name the path, never the ids in the query.
   */
  get (path: string, query?: Record<string, string>): Promise<StytchBody> {
    return this.call('GET', path, undefined, query === undefined ? '' : `?${new URLSearchParams(query).toString()}`)
  }

  close (): Promise<void> {
    return this.pool.destroyed ? Promise.resolve() : this.pool.close()
  }

  /** Abort every call still in flight (shutdown deadline); a pending or later close() then resolves. */
  destroy (): Promise<void> {
    return this.pool.destroy()
  }

  private call (method: 'GET' | 'POST', path: string, payload: string | undefined, search = ''): Promise<StytchBody> {
    return new Promise((resolve, reject) => {
      const call = new UpstreamCall(path, this.timeoutMs, this.observe, resolve, reject)
      this.pool.dispatch({
        method,
        path: this.basePath + path + search,
        headers: payload === undefined ? this.getHeaders : this.postHeaders,
        body: payload
      }, call)
    })
  }
}

/**
 * One upstream call, as an undici dispatch handler: the answer is collected straight from the
 * socket (no response stream, no AbortSignal), under one deadline timer. It settles once; whatever
 * the socket delivers after that (the rest of an unwanted body, a late error) is dropped, and a
 * call given up on mid-flight has its connection aborted.
 */
class UpstreamCall implements Dispatcher.DispatchHandler {
  private readonly started = performance.now()
  private readonly timer: NodeJS.Timeout
  private controller: Dispatcher.DispatchController | undefined
  private statusCode = 0
  private chunks: Buffer[] = []
  private size = 0
  private settled = false

  constructor (
    private readonly endpoint: string,
    timeoutMs: number,
    private readonly observe: ((o: UpstreamObservation) => void) | undefined,
    private readonly resolve: (body: StytchBody) => void,
    private readonly reject: (err: BffError) => void
  ) {
    this.timer = setTimeout(() => {
      this.fail(errors.upstreamTimeout(), 'deadline')
      this.abort()
    }, timeoutMs)
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.settled) this.abort() // the deadline passed while the call waited for a connection
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.settled) return
    this.statusCode = statusCode
    // The status decides first: any 5xx is "unavailable" whatever its body. The rest of an unwanted
    // body is read and dropped (up to the size limit) so the connection stays usable.
    if (statusCode >= 500) return this.fail(errors.upstreamUnavailable(), `status ${statusCode}`, String(statusCode))
    if (statusCode < 200 || (statusCode >= 300 && statusCode < 400)) return this.fail(errors.upstreamInvalidResponse(), `status ${statusCode}`, String(statusCode))
    if (Number(headers['content-length']) > MAX_UPSTREAM_BODY_BYTES) {
      this.fail(errors.upstreamInvalidResponse(), 'body too large', String(statusCode))
      this.abort()
    }
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length
    if (this.size > MAX_UPSTREAM_BODY_BYTES) {
      this.fail(errors.upstreamInvalidResponse(), 'body too large', String(this.statusCode))
      this.abort()
      return
    }
    if (!this.settled) this.chunks.push(chunk)
  }

  onResponseEnd (): void {
    if (this.settled) return
    const status = String(this.statusCode)
    const chunks = this.chunks
    this.chunks = []
    let json: unknown
    try {
      json = JSON.parse(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'))
    } catch {
      return this.fail(errors.upstreamInvalidResponse(), 'body is not JSON', status)
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) return this.fail(errors.upstreamInvalidResponse(), 'body is not a JSON object', status)
    const body = json as StytchBody
    if (this.statusCode >= 400) {
      const errorType = typeof body.error_type === 'string' ? body.error_type : undefined
      if (!errorType) return this.fail(errors.upstreamInvalidResponse(), `status ${this.statusCode} without error_type`, status)
      return this.settle(status, undefined, errors.stytch(this.statusCode, errorType,
        typeof body.error_message === 'string' ? body.error_message : errorType,
        typeof body.request_id === 'string' ? body.request_id : undefined))
    }
    this.settle(status, undefined, undefined, body)
  }

  onResponseError (_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.settled) return
    this.fail(isTimeout(err) ? errors.upstreamTimeout() : errors.upstreamUnavailable(), describe(err))
  }

  /** A failure at the transport or protocol level: observed with its cause (no secrets, no bodies). */
  private fail (error: BffError, cause: string, status?: string): void {
    this.settle(status ?? error.errorType, { errorType: error.errorType, cause }, error)
  }

  private settle (status: string, failure: UpstreamObservation['failure'], error: BffError | undefined, body?: StytchBody): void {
    if (this.settled) return
    this.settled = true
    clearTimeout(this.timer)
    this.observe?.({ endpoint: this.endpoint, status, seconds: (performance.now() - this.started) / 1000, ...(failure ? { failure } : {}) })
    if (error) this.reject(error)
    else this.resolve(body as StytchBody)
  }

  private abort (): void {
    const controller = this.controller
    if (controller && !controller.aborted) controller.abort(new undiciErrors.RequestAbortedError())
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
