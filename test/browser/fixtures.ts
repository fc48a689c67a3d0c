import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { withDemoResetUrl } from '../../src/demo.js'
import { emulatorDemo } from '../../src/emulator/demo.js'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { loggerOptions } from '../../src/logger.js'
import { buildEmulator } from '../../src/emulator/app.js'

// Real-browser tests: Debian's chromium driven by playwright-core (never a downloaded browser),
// against the BFF listening on a real socket in emulator mode with the demo page, as `npm start`
// runs it, but with COOKIE_SECURE=true: real __Host- cookies (Chromium treats http://localhost as
// a secure context and keeps Secure cookies there).

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SKIP_MESSAGE = 'chromium not installed: skipping browser tests (bash .ci/run installs it)'
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/browser/', import.meta.url))
export const DEMO = { email: 'demo@example.com', password: 'demo-password-123!', org: 'demo-org' }

// The switches this machine needs: no sandbox as root, no GPU, and no background networking
// (component updates, sync, QUIC probes) that a closed network would refuse at every start.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

interface Teardown { teardown: (fn: () => unknown) => void }

export const chromiumInstalled = (): boolean => existsSync(CHROMIUM)

/** One headless chromium per test file (a fresh profile each launch), closed at the end. */
export async function launch (t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 120_000 }) // a bound for a hang only: Chromium starts slowly on a loaded machine
  t.teardown(() => browser.close())
  return browser
}

/** A fresh browser profile's worth of state (cookies, storage); every wait bounded. */
export async function newContext (t: Teardown, browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } })
  context.setDefaultTimeout(10_000)
  context.setDefaultNavigationTimeout(10_000)
  t.teardown(() => context.close())
  return context
}

export interface Demo {
  /** http://localhost:<port> */
  origin: string
  app: FastifyInstance
  emulator: FastifyInstance
  config: Config
  /** the status of every request the BFF finished for this method and path (from its logs) */
  answered: (method: string, path: string) => number[]
}

/** A port free right now (the BFF needs its own origin before it starts: reset links point at it). */
async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}

/**
 * The BFF with the demo, listening on localhost, against an embedded emulator on port 0: what
 * src/server.ts does without credentials (reset links lead back to the demo's /reset).
 * `build.now` may read the emulator's clock, so one clock drives both (JWT age and Stytch).
 */
export async function startDemo (t: Teardown, env: Record<string, string> = {}, build: { now?: (emulator: FastifyInstance) => number } = {}): Promise<Demo> {
  const emulator = await buildEmulator({})
  const apiUrl = await emulator.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => emulator.close())
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const base = loadConfig({
      HOST: 'localhost',
      PORT: String(port),
      COOKIE_SECURE: 'true',
      ALLOWED_ORIGINS: 'https://app.example.com',
      RATE_LIMIT_AUTH_PER_MINUTE: '1000',
      LOG_LEVEL: 'info',
      ...env
    })
    const config = withDemoResetUrl({ ...base, projectId: emulator.emulator.projectId, secret: emulator.emulator.secret, apiUrl })
    const logs: Array<{ reqId?: string; req?: { method: string; url: string }; res?: { statusCode: number } }> = []
    const stream = new Writable({ write (chunk, _enc, cb) { logs.push(JSON.parse(String(chunk))); cb() } })
    const clock = build.now
    const app = await buildApp(config, {
      logger: { ...(loggerOptions(config) as object), stream },
      demo: emulatorDemo(emulator.emulator),
      ...(clock ? { now: () => clock(emulator) } : {})
    })
    try {
      await app.listen({ host: 'localhost', port })
    } catch (err) {
      await app.close()
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue
      throw err
    }
    t.teardown(() => app.close())
    const answered = (method: string, path: string) => {
      const ids = new Set(logs.filter((l) => l.req?.method === method && l.req.url === path).map((l) => l.reqId))
      return logs.filter((l) => ids.has(l.reqId) && l.res !== undefined).map((l) => l.res!.statusCode)
    }
    return { origin: `http://localhost:${port}`, app, emulator, config, answered }
  }
}

/** Waits until the demo shows a view (body[data-view]). */
export async function view (page: Page, name: string): Promise<void> {
  await page.waitForSelector(`body[data-view="${name}"]`)
}

/** The login form, as a person fills it. */
export async function logIn (page: Page, { org, email = DEMO.email, password = DEMO.password }: { org?: string; email?: string; password?: string } = {}): Promise<void> {
  await view(page, 'login')
  if (org !== undefined) await page.fill('#login-org', org)
  await page.fill('#login-email', email)
  await page.fill('#login-password', password)
  await page.click('#login-button')
}

/** What the page's own JavaScript gets from a same-origin fetch of GET /auth/session. */
export async function sessionStatus (page: Page): Promise<number> {
  return page.evaluate(async () => (await fetch('/auth/session', { credentials: 'include' })).status)
}

/** document.cookie, as the page's own scripts see it. */
export async function scriptCookies (page: Page): Promise<string> {
  return page.evaluate('document.cookie') as Promise<string>
}

/** The last step of a test, kept under test-artifacts/ (git-ignored). */
export async function screenshot (page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true })
}
