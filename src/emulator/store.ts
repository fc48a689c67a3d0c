import { createHmac, randomBytes, randomInt } from 'node:crypto'
import { normalizeEmail } from './fields.js'
import { stytchId } from './keys.js'

export interface Clock {
  now(): number
  advance(ms: number): void
}

export interface Organization {
  organization_id: string
  organization_name: string
  organization_slug: string
  mfa_policy: 'OPTIONAL' | 'REQUIRED_FOR_ALL'
  created_at: number
  updated_at: number
}

export interface Member {
  member_id: string
  organization_id: string
  email_address: string
  member_email_id: string
  name: string
  is_admin: boolean
  /** Empty until the (cross-organization) password of this email is set. */
  member_password_id: string
  mfa_phone_number: string
  mfa_phone_id: string
  mfa_enrolled: boolean
  default_mfa_method: '' | 'sms_otp' | 'totp'
  totp?: { totp_registration_id: string; secret: Buffer }
  recovery_codes: Array<{ id: string; code: string; used: boolean }>
  created_at: number
  updated_at: number
}

export interface User {
  user_id: string
  email_id: string
  email: string
  password_id: string
  password?: string
  created_at: number
}

export interface Factor {
  type: string
  delivery_method: string
  created_at: number
  last_authenticated_at: number
  email_factor?: { email_id: string; email_address: string }
  phone_number_factor?: { phone_id: string; phone_number: string }
  authenticator_app_factor?: { totp_id: string }
  recovery_code_factor?: { totp_recovery_code_id: string }
}

export interface Session {
  vertical: 'b2b' | 'consumer'
  session_id: string
  token: string
  /** member_id (B2B) or user_id (consumer). */
  subject_id: string
  organization_id?: string
  started_at: number
  last_accessed_at: number
  expires_at: number
  revoked: boolean
  factors: Factor[]
  custom_claims: Record<string, unknown>
  roles: string[]
}

/** A B2B intermediate session: a bag of factors for one email, optionally bound to an organization. */
export interface IntermediateSession {
  token: string
  email: string
  organization_id?: string
  member_id?: string
  /** Discovery ISTs may be used with discovery endpoints; org-scoped ones may not. */
  discovery: boolean
  factors: Factor[]
  expires_at: number
}

export interface ResetToken {
  token: string
  vertical: 'b2b' | 'consumer' | 'discovery'
  email: string
  subject_id?: string
  organization_id?: string
  code_challenge?: string
  expires_at: number
  used: boolean
}

export interface OtpCode {
  member_id: string
  code: string
  phone: string
  expires_at: number
}

/**
 * What the emulator remembers at most, oldest forgotten first, so that a long benchmark against it
 * does not grow its memory without end. Far above what any test uses.
 */
export const LIMITS = { sessions: 100_000, intermediateSessions: 100_000, resetTokens: 100_000, log: 10_000 }

/** Drops the oldest entries of an insertion-ordered map beyond `max`. */
export function forgetOldest<K, V> (map: Map<K, V>, max: number, onForget?: (value: V) => void): void {
  for (const [key, value] of map) {
    if (map.size <= max) return
    map.delete(key)
    onForget?.(value)
  }
}

/** Drops the oldest items of a log beyond `max`. */
export function keepLast<T> (log: T[], max: number): void {
  if (log.length > max) log.splice(0, log.length - max)
}

export const DEMO_EMAIL = 'demo@example.com'
export const DEMO_PHONE = '+15005550006'

/** The emulator's in-memory state. Maps are public so tests can inspect them. */
export class Store {
  readonly organizations = new Map<string, Organization>()
  readonly members = new Map<string, Member>()
  readonly users = new Map<string, User>()
  readonly sessions = new Map<string, Session>()
  readonly sessionIdsByToken = new Map<string, string>()
  readonly intermediateSessions = new Map<string, IntermediateSession>()
  readonly resetTokens = new Map<string, ResetToken>()
  readonly otps = new Map<string, OtpCode>()
  /** B2B passwords are cross-organization: one per email address. */
  readonly memberPasswords = new Map<string, string>()

  constructor (readonly clock: Clock) {}

  addSession (session: Session): void {
    this.sessions.set(session.session_id, session)
    this.sessionIdsByToken.set(session.token, session.session_id)
    forgetOldest(this.sessions, LIMITS.sessions, (old) => this.sessionIdsByToken.delete(old.token))
  }

  addIntermediateSession (ist: IntermediateSession): void {
    this.intermediateSessions.set(ist.token, ist)
    forgetOldest(this.intermediateSessions, LIMITS.intermediateSessions)
  }

  addResetToken (reset: ResetToken): void {
    this.resetTokens.set(reset.token, reset)
    forgetOldest(this.resetTokens, LIMITS.resetTokens)
  }

  seed (demoPassword: string): void {
    const demo = this.createOrganization({ organization_name: 'Demo Org', organization_slug: 'demo-org' })
    const mfa = this.createOrganization({
      organization_name: 'MFA Org',
      organization_slug: 'mfa-org',
      mfa_policy: 'REQUIRED_FOR_ALL'
    })
    this.createMember(demo, DEMO_EMAIL, { name: 'Demo Member', is_admin: true })
    const mfaMember = this.createMember(mfa, DEMO_EMAIL, { name: 'Demo Member' })
    Object.assign(mfaMember, {
      mfa_phone_number: DEMO_PHONE,
      mfa_phone_id: stytchId('mfa-phone'),
      mfa_enrolled: true,
      default_mfa_method: 'sms_otp',
      totp: { totp_registration_id: stytchId('member-totp'), secret: randomBytes(20) },
      recovery_codes: Array.from({ length: 10 }, () => ({ id: stytchId('recovery-code'), code: recoveryCode(), used: false }))
    })
    this.setMemberPassword(DEMO_EMAIL, demoPassword)
    this.createUser(DEMO_EMAIL, demoPassword)
  }

  createOrganization (input: Pick<Organization, 'organization_name' | 'organization_slug'> & Partial<Organization>): Organization {
    const now = this.clock.now()
    const org: Organization = {
      organization_id: stytchId('organization'),
      mfa_policy: 'OPTIONAL',
      created_at: now,
      updated_at: now,
      ...input
    }
    this.organizations.set(org.organization_id, org)
    return org
  }

  createMember (org: Organization, email: string, input: Partial<Member> = {}): Member {
    const now = this.clock.now()
    const member: Member = {
      member_id: stytchId('member'),
      organization_id: org.organization_id,
      email_address: normalizeEmail(email),
      member_email_id: stytchId('member-email'),
      name: '',
      is_admin: false,
      member_password_id: this.memberPasswords.has(normalizeEmail(email)) ? stytchId('member-password') : '',
      mfa_phone_number: '',
      mfa_phone_id: '',
      mfa_enrolled: false,
      default_mfa_method: '',
      recovery_codes: [],
      created_at: now,
      updated_at: now,
      ...input
    }
    this.members.set(member.member_id, member)
    return member
  }

  createUser (email: string, password: string): User {
    const user: User = {
      user_id: stytchId('user'),
      email_id: stytchId('email'),
      email: normalizeEmail(email),
      password_id: stytchId('password'),
      password,
      created_at: this.clock.now()
    }
    this.users.set(user.user_id, user)
    return user
  }

  setMemberPassword (email: string, password: string): void {
    const key = normalizeEmail(email)
    this.memberPasswords.set(key, password)
    for (const m of this.membersByEmail(key)) {
      if (m.member_password_id === '') m.member_password_id = stytchId('member-password')
    }
  }

  /** By id, slug or (as Stytch allows) nothing else: `organization_id` fields take either. */
  organization (idOrSlug: string): Organization | undefined {
    const byId = this.organizations.get(idOrSlug)
    if (byId) return byId
    for (const org of this.organizations.values()) if (org.organization_slug === idOrSlug) return org
    return undefined
  }

  membersByEmail (email: string): Member[] {
    const key = normalizeEmail(email)
    return [...this.members.values()].filter((m) => m.email_address === key)
  }

  memberIn (organizationId: string, email: string): Member | undefined {
    return this.membersByEmail(email).find((m) => m.organization_id === organizationId)
  }

  /** Test helper: the member with this email in the organization with this slug (or id). */
  findMember (email: string, orgSlug: string): Member | undefined {
    const org = this.organization(orgSlug)
    return org ? this.memberIn(org.organization_id, email) : undefined
  }

  findUser (email: string): User | undefined {
    const key = normalizeEmail(email)
    return [...this.users.values()].find((u) => u.email === key)
  }

  /** Test helper: the TOTP code a member's authenticator app would show now (RFC 6238, 30 s, 6 digits). */
  totpCode (memberId: string, at: number = this.clock.now()): string {
    const totp = this.members.get(memberId)?.totp
    if (!totp) throw new Error(`member ${memberId} has no TOTP registration`)
    return hotp(totp.secret, Math.floor(at / 30_000))
  }

  /** Test helper: the member's unused recovery codes. */
  recoveryCodes (memberId: string): string[] {
    return (this.members.get(memberId)?.recovery_codes ?? []).filter((c) => !c.used).map((c) => c.code)
  }

  /** Live (not revoked, not expired) sessions of a member or user. */
  activeSessions (subjectId: string): Session[] {
    const now = this.clock.now()
    return [...this.sessions.values()].filter((s) => s.subject_id === subjectId && !s.revoked && s.expires_at > now)
  }
}

export function hotp (secret: Buffer, counter: number): string {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', secret).update(msg).digest()
  const offset = mac[mac.length - 1]! & 0xf
  const bin = mac.readUInt32BE(offset) & 0x7fffffff
  return String(bin % 1_000_000).padStart(6, '0')
}

function recoveryCode (): string {
  const part = () => String(randomInt(0, 10_000)).padStart(4, '0')
  return `${part()}-${part()}-${part()}`
}
