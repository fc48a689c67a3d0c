import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../src/config.js'

// The demo single-page app (demo/), served only when the embedded emulator stands in for Stytch
// and never in production. The page calls the BFF exactly as any SPA would; the one extra it gets
// is GET /demo/outbox: the emails and SMS codes the emulator "sent", so a reset link can be followed,
// and what the demo member's authenticator app and saved recovery codes would hold, so every MFA
// option can be completed from the page.

/** The demo member's second factors in the MFA organization, as the emulator knows them now. */
export interface DemoAuthenticator {
  email: string
  organization: string
  /** the TOTP code an authenticator app would show now, and the seconds it has left */
  totp_code: string
  totp_expires_in: number
  /** recovery codes not used yet */
  recovery_codes: string[]
}

/** what the demo shows of a message the emulator "sent" (not imported: the emulator is its own build) */
export interface OutboxMessage { kind: string; to: string; created_at: string; link?: string; code?: string }

export interface DemoOptions {
  /** the embedded emulator's outbox (reset emails, SMS codes) */
  outbox: () => readonly OutboxMessage[]
  /** the demo member's authenticator app and recovery codes */
  authenticator?: () => DemoAuthenticator | undefined
}

export const DEMO_EMAIL = 'demo@example.com' // the emulator's seed
export const DEMO_ORGANIZATION = 'demo-org'
export const DEMO_MFA_ORGANIZATION = 'mfa-org'

/** The demo's view of an embedded emulator: its outbox and the demo member's MFA factors. */

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8'
}

/** Only in emulator mode, never in production (emulator mode already excludes it; said twice on purpose). */
export function demoEnabled (config: Config): boolean {
  return config.emulator && !config.production
}

/** The demo/ folder: beside routes/ in the source tree, two levels up from dist/routes/. */
export function demoDirectory (): string | undefined {
  for (const relative of ['../demo/', '../../demo/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(`${dir}index.html`)) return dir
  }
  return undefined
}

/** Where a person reaches the demo: the listening address, a wildcard host read as localhost (as server.ts prints it). */
export function demoOrigin (config: Config): string | undefined {
  if (config.port === 0) return undefined
  const host = ['0.0.0.0', '::', ''].includes(config.host) ? 'localhost' : config.host
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`
}

/** In emulator mode, reset links lead back to the demo's reset page unless RESET_PASSWORD_REDIRECT_URL says otherwise. */
export function withDemoResetUrl (config: Config): Config {
  const origin = demoOrigin(config)
  if (!demoEnabled(config) || config.reset.redirectUrl !== undefined || origin === undefined) return config
  return { ...config, reset: { ...config.reset, redirectUrl: `${origin}/reset` } }
}

export default async function demoRoutes (app: FastifyInstance, { config, outbox, authenticator }: { config: Config } & DemoOptions) {
  if (!demoEnabled(config)) return
  const dir = demoDirectory()
  if (dir === undefined) {
    app.log.warn('demo/ not found next to the server: the demo page is not served')
    return
  }
  const page = readFileSync(`${dir}index.html`)
  const assets = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(dir + name) }]))

  // Not part of the API: none of these routes is in /docs/json.
  const hidden = { schema: { hide: true } }

  // The same page answers / and /reset (the reset link's target); app.js picks the view.
  for (const url of ['/', '/reset']) {
    app.get(url, hidden, async (_request, reply) => reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page))
  }

  app.get<{ Params: { name: string } }>('/demo/:name', hidden, async (request, reply) => {
    const asset = assets.get(request.params.name)
    if (asset === undefined) return reply.callNotFound()
    return reply.header('cache-control', 'no-cache').type(asset.type).send(asset.body)
  })

  app.get('/demo/config', hidden, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return {
      vertical: config.vertical,
      prefix: config.prefix,
      csrfHeader: config.csrfHeader,
      demo: { email: DEMO_EMAIL, password: config.emulatorDemoPassword, organization: DEMO_ORGANIZATION }
    }
  })

  // Newest first; the token travels inside the link, as in a real email. The authenticator is
  // the emulator's, computed at each request (a TOTP code changes every 30 s).
  app.get('/demo/outbox', hidden, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    const messages = [...outbox()].reverse().map((m) => ({
      kind: m.kind,
      to: m.to,
      created_at: m.created_at,
      ...(m.link !== undefined ? { link: m.link } : {}),
      ...(m.code !== undefined ? { code: m.code } : {})
    }))
    const factors = authenticator?.()
    return { messages, ...(factors !== undefined ? { authenticator: factors } : {}) }
  })
}
