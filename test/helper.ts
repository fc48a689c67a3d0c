import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import { buildApp, type BuildOptions } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
import { buildEmulator } from '../src/emulator/app.js'
import { loggerOptions } from '../src/logger.js'

// Builds the BFF against an embedded emulator listening on port 0, as a real deployment would
// talk to Stytch. Everything is closed when the test ends.

export interface TestContext { after?: (fn: () => unknown) => void; teardown: (fn: () => unknown) => void }

export interface TestApp {
  app: FastifyInstance
  emulator: FastifyInstance
  config: Config
  /** every log line the BFF wrote, raw JSON text */
  logs: string[]
}

export async function buildTestApp (t: TestContext, env: Record<string, string> = {}, build: Pick<BuildOptions, 'now'> & { emulator?: { secret?: string; demoPassword?: string } } = {}): Promise<TestApp> {
  // an injected clock drives the emulator, and the BFF reads the emulator's clock: the JWTs it signs
  // and the BFF's checks agree, and emulator.clock.advance() moves both
  const emulator = await buildEmulator({ ...build.emulator, ...(build.now ? { now: build.now } : {}) })
  const url = await emulator.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => emulator.close())
  const config = loadConfig({
    STYTCH_PROJECT_ID: emulator.emulator.projectId,
    STYTCH_SECRET: emulator.emulator.secret,
    STYTCH_API_URL: url,
    LOG_LEVEL: 'info',
    // Tests of other concerns log in many times from one address: generous budgets unless a
    // test sets its own (test/plugins/rate-limit.test.ts does).
    RATE_LIMIT_GLOBAL_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_IDENTIFIER_PER_HOUR: '100000',
    ...env
  })
  const logs: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { logs.push(String(chunk)); cb() } })
  const app = await buildApp(config, { logger: { ...(loggerOptions(config) as object), stream }, ...(build.now ? { now: () => emulator.emulator.clock.now() } : {}) })
  await app.ready()
  t.teardown(() => app.close())
  return { app, emulator, config, logs }
}

/** The body of the last request the emulator received on a Stytch path. */
export function upstreamBody (emulator: FastifyInstance, path: string): Record<string, unknown> {
  const r = emulator.emulator.requests.filter((x) => x.path === path).at(-1)
  if (!r) throw new Error(`no upstream call to ${path}`)
  return r.body as Record<string, unknown>
}

/** A browser that has logged in through the given route. */
export async function loggedInBrowser (app: FastifyInstance, url: string, body: unknown): Promise<Browser> {
  const browser = new Browser(app)
  const res = await browser.post(url, body)
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`)
  return browser
}

export const DEMO = { email: 'demo@example.com', password: 'demo-password-123!', org: 'demo-org' }

export interface ParsedCookie { name: string; value: string; attributes: Record<string, string | true> }

/** Set-Cookie headers of a response, parsed with every attribute (lower-cased names). */
export function setCookies (res: LightMyRequestResponse): ParsedCookie[] {
  const raw = res.headers['set-cookie']
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
  return list.map((line) => {
    const [pair = '', ...attrs] = line.split(';')
    const eq = pair.indexOf('=')
    const attributes: Record<string, string | true> = {}
    for (const attr of attrs) {
      const [k = '', ...v] = attr.trim().split('=')
      attributes[k.toLowerCase()] = v.length > 0 ? v.join('=') : true
    }
    return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes }
  })
}

/**
 * A browser-like client over inject: keeps cookies as a browser would (Max-Age=0 deletes),
 * sends them back, and adds the CSRF header and JSON content type to POSTs.
 */
export class Browser {
  readonly cookies = new Map<string, string>()
  constructor (private readonly app: FastifyInstance, private readonly defaults: Record<string, string> = {}) {}

  cookieHeader (): string | undefined {
    return this.cookies.size === 0 ? undefined : [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async request (method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const cookie = this.cookieHeader()
    const res = await this.app.inject({
      method,
      url,
      headers: {
        ...this.defaults,
        ...(method === 'POST' ? { 'x-csrf': '1', 'content-type': 'application/json' } : {}),
        ...(cookie ? { cookie } : {}),
        ...headers
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) })
    })
    for (const c of setCookies(res)) {
      if (c.attributes['max-age'] === '0') this.cookies.delete(c.name)
      else this.cookies.set(c.name, c.value)
    }
    return res
  }

  post (url: string, body?: unknown, headers?: Record<string, string>) { return this.request('POST', url, body ?? {}, headers) }
  get (url: string, headers?: Record<string, string>) { return this.request('GET', url, undefined, headers) }
}

/** The body of a response must never hold a token. */
export function assertNoTokens (t: Test, res: LightMyRequestResponse): void {
  t.notMatch(res.body, /session_token|session_jwt|intermediate_session_token/, 'no token field in the body')
  t.notMatch(res.body, /eyJ[A-Za-z0-9_-]+\.eyJ/, 'no JWT in the body')
}
