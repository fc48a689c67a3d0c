import type { Config } from './config.js'

// What the service knows of its demo page (served by routes/demo.ts in emulator mode only): what
// the embedded emulator hands it, when it is on, and where reset links lead back to. Read by the
// start-up (server.ts) and by the demo route; the emulator itself is its own build
// (src/emulator/demo.ts produces a DemoOptions).

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

/** Only in emulator mode, never in production (emulator mode already excludes it; said twice on purpose). */
export function demoEnabled (config: Config): boolean {
  return config.emulator && !config.production
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
