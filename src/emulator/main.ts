import { listenOrExit } from '../listen.js'
import { buildEmulator } from './app.js'

// `npm run emulator`: the emulator alone, for any Stytch client pointed at it, on EMULATOR_PORT
// (default 3001, a fixed port that clients can be configured with; 0 picks a free one). A bad or
// busy port ends the process with one line naming EMULATOR_PORT, exit code 1.
const fail = (line: string): never => {
  process.stderr.write(line + '\n')
  process.exit(1)
}
const rawPort = (process.env.EMULATOR_PORT ?? '').trim()
if (rawPort !== '' && !(/^\d+$/.test(rawPort) && Number(rawPort) <= 65535)) {
  fail(`Stytch emulator: EMULATOR_PORT must be a whole number between 0 and 65535 (got "${rawPort.slice(0, 40)}")`)
}
const port = rawPort === '' ? 3001 : Number(rawPort)
const host = process.env.HOST || '127.0.0.1'
const app = await buildEmulator({
  ...(process.env.STYTCH_PROJECT_ID ? { projectId: process.env.STYTCH_PROJECT_ID } : {}),
  ...(process.env.STYTCH_SECRET ? { secret: process.env.STYTCH_SECRET } : {}),
  logger: process.env.EMULATOR_LOG === 'true'
})
const address = await listenOrExit(app, { what: 'Stytch emulator', host, port, portVariable: 'EMULATOR_PORT', hostVariable: 'HOST' })
const { projectId, secret, demoPassword } = app.emulator
process.stdout.write(
  [
    `Stytch emulator listening on ${address}`,
    `  STYTCH_API_URL=${address}`,
    `  STYTCH_PROJECT_ID=${projectId}`,
    `  STYTCH_SECRET=${secret}`,
    `  demo login: demo@example.com / ${demoPassword}  (B2B organizations: demo-org, mfa-org [MFA required]; consumer user)`,
    ''
  ].join('\n')
)
const stop = async () => {
  await app.close()
  process.exit(0)
}
process.once('SIGINT', () => { void stop() })
process.once('SIGTERM', () => { void stop() })
