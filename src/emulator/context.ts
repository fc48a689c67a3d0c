import type { KeyRing } from './keys.js'
import type { Clock, Store } from './store.js'

export interface OutboxMessage {
  kind: 'reset_password' | 'discovery_reset_password' | 'sms_otp'
  to: string
  token?: string
  code?: string
  link?: string
  organization_id?: string
  created_at: string
}

/** What every handler gets: configuration and state of one emulator instance. */
export interface EmulatorContext {
  projectId: string
  secret: string
  demoPassword: string
  clock: Clock
  store: Store
  keys: KeyRing
  outbox: OutboxMessage[]
}
