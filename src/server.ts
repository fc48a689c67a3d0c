import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { withDemoResetUrl } from '../routes/demo.js'
import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'

// The only file that touches process: read the environment, start the embedded emulator when
// there are no credentials (never in production), listen, and close gracefully on signals.

async function startEmulator (config: Config): Promise<{ config: Config; emulator: FastifyInstance }> {
  const { buildEmulator } = await import('./emulator/app.js')
  const emulator = await buildEmulator({ demoPassword: config.emulatorDemoPassword })
  const url = await emulator.listen({ host: '127.0.0.1', port: config.emulatorPort })
  const { projectId, secret } = emulator.emulator
  // reset links lead back to the demo's reset page unless RESET_PASSWORD_REDIRECT_URL is set
  return { config: withDemoResetUrl({ ...config, projectId, secret, apiUrl: url }), emulator }
}

async function main (): Promise<void> {
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`stytch-bff: ${err.message}\n`)
      process.exit(1)
    }
    throw err
  }

  let emulator: FastifyInstance | undefined
  if (config.emulator) ({ config, emulator } = await startEmulator(config))

  const outbox = emulator?.emulator.outbox // the demo page shows what the emulator "sent"
  const app = await buildApp(config, outbox ? { demo: { outbox: () => outbox } } : {})
  closeWithGrace({ delay: config.shutdownTimeoutMs }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
    await emulator?.close()
  })

  const address = await app.listen({ host: config.host, port: config.port })
  if (emulator) {
    const local = address.replace('0.0.0.0', 'localhost').replace('[::]', 'localhost')
    process.stdout.write([
      '',
      'stytch-bff is running against the embedded Stytch emulator (no STYTCH_PROJECT_ID / STYTCH_SECRET set).',
      `  BFF:          ${local}${config.prefix}  (vertical: ${config.vertical})`,
      `  Demo page:    ${local}/`,
      `  Emulator:     ${config.apiUrl}  (project ${config.projectId})`,
      `  Demo login:   demo@example.com / ${config.emulatorDemoPassword}${config.vertical === 'b2b' ? '  (organization: demo-org)' : ''}`,
      `  Try:          curl -i -X POST ${local}${config.prefix}/${config.vertical === 'b2b' ? 'b2b/' : ''}passwords/authenticate -H 'X-CSRF: 1' -H 'Content-Type: application/json' \\`,
      `                  -d '{${config.vertical === 'b2b' ? '"organization_id":"demo-org","email_address"' : '"email"'}:"demo@example.com","password":"${config.emulatorDemoPassword}"}'`,
      ''
    ].join('\n') + '\n')
  }
}

await main()
