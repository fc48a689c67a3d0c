import { buildEmulator } from './app.js'

// `npm run emulator`: the emulator alone, for any Stytch client pointed at it.
const port = Number(process.env.EMULATOR_PORT ?? 3001)
const host = process.env.HOST ?? '127.0.0.1'
const app = await buildEmulator({
  ...(process.env.STYTCH_PROJECT_ID ? { projectId: process.env.STYTCH_PROJECT_ID } : {}),
  ...(process.env.STYTCH_SECRET ? { secret: process.env.STYTCH_SECRET } : {}),
  logger: process.env.EMULATOR_LOG === 'true',
})
const address = await app.listen({ port, host })
const { projectId, secret, demoPassword } = app.emulator
process.stdout.write(
  [
    `Stytch emulator listening on ${address}`,
    `  STYTCH_API_URL=${address}`,
    `  STYTCH_PROJECT_ID=${projectId}`,
    `  STYTCH_SECRET=${secret}`,
    `  demo login: demo@example.com / ${demoPassword}  (B2B organizations: demo-org, mfa-org [MFA required]; consumer user)`,
    '',
  ].join('\n'),
)
const stop = async () => {
  await app.close()
  process.exit(0)
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())
