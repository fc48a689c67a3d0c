import type { Emulator } from './app.js'
import { DEMO_EMAIL } from './store.js'

// What the demo page may show of the embedded emulator: its outbox, and the demo member's second
// factors in the MFA organization (the TOTP code an authenticator app would show now, the unused
// recovery codes), so every MFA option can be completed from the page. Lives with the emulator so
// the service build (and the production image) never contains emulator code; the shape matches
// the demo route's DemoOptions.

const DEMO_MFA_ORGANIZATION = 'mfa-org'
const TOTP_STEP_MS = 30_000

export function emulatorDemo (emulator: Emulator) {
  return {
    outbox: () => emulator.outbox,
    authenticator: () => {
      const member = emulator.store.findMember(DEMO_EMAIL, DEMO_MFA_ORGANIZATION)
      if (member?.totp === undefined) return undefined
      const now = emulator.clock.now()
      return {
        email: DEMO_EMAIL,
        organization: DEMO_MFA_ORGANIZATION,
        totp_code: emulator.store.totpCode(member.member_id, now),
        totp_expires_in: Math.ceil((TOTP_STEP_MS - (now % TOTP_STEP_MS)) / 1000),
        recovery_codes: emulator.store.recoveryCodes(member.member_id)
      }
    }
  }
}
