import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { demoOrigin, withDemoResetUrl, type DemoOptions } from './demo.js'
import { listenOrExit } from './listen.js'

// The only file that touches process: read the environment, start the embedded emulator when
// there are no credentials (never in production), listen, and close gracefully on signals.
// A port that cannot be listened on ends the process with one line naming the port and the
// variable that sets it, exit code 1.

// The emulator is its own build (npm run build:emulator) and is left out of the production image:
// loaded by a path tsc does not follow, so the service build never contains it.
const EMULATOR_MODULE = './emulator/app.js'
type EmulatorInstance = FastifyInstance & { emulator: { projectId: string; secret: string } }
interface EmulatorModule {
  buildEmulator: (opts: { demoPassword: string }) => Promise<EmulatorInstance>
  /** what the demo page may show of it (src/emulator/demo.ts) */
  emulatorDemo: (emulator: EmulatorInstance['emulator']) => DemoOptions
}
type EmbeddedEmulator = EmulatorInstance & { demo: DemoOptions }

async function startEmulator (config: Config): Promise<{ config: Config; emulator: EmbeddedEmulator }> {
  let loaded: EmulatorModule
  try {
    loaded = await import(EMULATOR_MODULE) as EmulatorModule
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err
    throw new ConfigError('Invalid environment:\n  STYTCH_PROJECT_ID, STYTCH_SECRET: required, since this build has no embedded Stytch emulator (the production image leaves it out)')
  }
  const instance = await loaded.buildEmulator({ demoPassword: config.emulatorDemoPassword })
  const emulator = Object.assign(instance, { demo: loaded.emulatorDemo(instance.emulator) })
  // an ephemeral port unless EMULATOR_PORT pins one, so it never collides with anything else
  const url = await listenOrExit(emulator, { what: 'stytch-bff (embedded Stytch emulator)', host: '127.0.0.1', port: config.emulatorPort, portVariable: 'EMULATOR_PORT' })
  const { projectId, secret } = emulator.emulator
  // reset links lead back to the demo's reset page unless RESET_PASSWORD_REDIRECT_URL is set
  return { config: withDemoResetUrl({ ...config, projectId, secret, apiUrl: url }), emulator }
}

async function main (): Promise<void> {
  let config: Config
  let emulator: EmbeddedEmulator | undefined
  try {
    config = loadConfig(process.env)
    if (config.emulator) ({ config, emulator } = await startEmulator(config))
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`stytch-bff: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  // the demo page shows what the emulator "sent" and the demo member's authenticator
  const app = await buildApp(config, emulator ? { demo: emulator.demo } : {})
  // SIGTERM/SIGINT: drain (/readyz 503, new requests 503 shutting_down, Connection: close on every
  // answer), stop accepting, let in-flight requests finish, close idle keep-alive sockets, exit 0.
  // Whatever is still open shortly before SHUTDOWN_TIMEOUT_MS is cut so the exit stays clean;
  // close-with-grace exits 1 if even that does not finish in time.
  const timeoutMs = config.shutdownTimeoutMs
  closeWithGrace({ delay: timeoutMs, logger: { error: (msg: unknown) => app.log.error({ detail: String(msg) }, 'shutdown') } }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal, timeoutMs }, 'draining')
    app.lifecycle.drain()
    app.server.closeIdleConnections()
    const cut = setTimeout(() => {
      app.log.warn('shutdown: closing connections and upstream calls still open')
      app.server.closeAllConnections()
      app.stytch.destroy().catch(() => {})
    }, Math.max(0, timeoutMs - Math.min(1_000, timeoutMs / 5)))
    cut.unref()
    await app.close()
    clearTimeout(cut)
    await emulator?.close()
    app.log.info('closed')
  })

  const address = await listenOrExit(app, { what: 'stytch-bff', host: config.host, port: config.port, portVariable: 'PORT', hostVariable: 'HOST' })
  if (emulator) {
    const local = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost')
    process.stdout.write([
      '',
      'stytch-bff is running against the embedded Stytch emulator (no STYTCH_PROJECT_ID / STYTCH_SECRET set).',
      `  BFF:          ${local}${config.prefix}  (vertical: ${config.vertical})`,
      `  Demo page:    ${demoOrigin(config) ?? local}/`, // the origin reset links lead back to
      `  Emulator:     ${config.apiUrl}  (project ${config.projectId})`,
      `  Demo login:   demo@example.com / ${config.emulatorDemoPassword}${config.vertical === 'b2b' ? '  (organization: demo-org)' : ''}`,
      `  Try:          curl -i -X POST ${local}${config.prefix}/${config.vertical === 'b2b' ? 'b2b/' : ''}passwords/authenticate -H 'X-CSRF: 1' -H 'Content-Type: application/json' \\`,
      `                  -d '{${config.vertical === 'b2b' ? '"organization_id":"demo-org","email_address"' : '"email"'}:"demo@example.com","password":"${config.emulatorDemoPassword}"}'`,
      ''
    ].join('\n') + '\n')
  }
}

await main()
