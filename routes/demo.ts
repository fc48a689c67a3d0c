import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { demoEnabled, type DemoOptions } from '../src/demo.js'

// The demo single-page app (demo/), served only when the embedded emulator stands in for Stytch
// and never in production. The page calls the BFF exactly as any SPA would; the one extra it gets
// is GET /demo/outbox: the emails and SMS codes the emulator "sent", so a reset link can be followed,
// and what the demo member's authenticator app and saved recovery codes would hold, so every MFA
// option can be completed from the page.

export const DEMO_EMAIL = 'demo@example.com' // the emulator's seed
export const DEMO_ORGANIZATION = 'demo-org'

const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8'
}

/** The demo/ folder: beside routes/ in the source tree, two levels up from dist/routes/. */
export function demoDirectory (): string | undefined {
  for (const relative of ['../demo/', '../../demo/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url))
    if (existsSync(`${dir}index.html`)) return dir
  }
  return undefined
}

export default async function demoRoutes (app: FastifyInstance, { outbox, authenticator }: DemoOptions) {
  const { config } = app
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
