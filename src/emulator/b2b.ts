import { randomInt } from 'node:crypto'
import type { EmulatorContext } from './context.js'
import { errors } from './errors.js'
import { sessionMinutes, type Body } from './fields.js'
import { memberJson, memberRoles, memberSessionJson, organizationJson, iso } from './render.js'
import {
  consumeIntermediateSession,
  createIntermediateSession,
  createSession,
  mergeFactors,
  sessionJwt,
  touchSession
} from './sessions.js'
import { keepLast, LIMITS, type Factor, type IntermediateSession, type Member, type Organization, type Session } from './store.js'

const MFA_FACTOR_TYPES = new Set(['otp', 'totp', 'recovery_codes'])
const OTP_LIFETIME_MS = 10 * 60_000

export function organizationOrFail (ctx: EmulatorContext, idOrSlug: string): Organization {
  return ctx.store.organization(idOrSlug) ?? errors.organizationNotFound()
}

export function memberOrFail (ctx: EmulatorContext, org: Organization, memberId: string): Member {
  const member = ctx.store.members.get(memberId)
  return member && member.organization_id === org.organization_id ? member : errors.memberNotFound()
}

export function mfaRequiredFor (org: Organization, member: Member, factors: Factor[]): boolean {
  const mfaDone = factors.some((f) => MFA_FACTOR_TYPES.has(f.type))
  return !mfaDone && (org.mfa_policy === 'REQUIRED_FOR_ALL' || member.mfa_enrolled)
}

function mfaRequiredJson (member: Member, initiated: boolean): Record<string, unknown> {
  return {
    member_options: { mfa_phone_number: member.mfa_phone_number, totp_registration_id: member.totp?.totp_registration_id ?? '' },
    ...(initiated ? { secondary_auth_initiated: 'sms_otp' } : {})
  }
}

/** "Sends" an SMS OTP (replacing any earlier one of the member): it lands in the outbox. */
export function sendSmsOtp (ctx: EmulatorContext, member: Member): void {
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0')
  ctx.store.otps.set(member.member_id, {
    member_id: member.member_id,
    code,
    phone: member.mfa_phone_number,
    expires_at: ctx.clock.now() + OTP_LIFETIME_MS
  })
  ctx.outbox.push({
    kind: 'sms_otp',
    to: member.mfa_phone_number,
    code,
    organization_id: member.organization_id,
    created_at: iso(ctx.clock.now())
  })
  keepLast(ctx.outbox, LIMITS.log)
}

export interface B2BCompletion {
  member: Member
  org: Organization
  /** Factors proven by this call. */
  added: Factor[]
  body: Body
  /** Factors proven earlier (an existing session in another organization, say). */
  prior?: Factor[]
  /** A session of this member to extend instead of creating one; MFA is then not asked again. */
  extend?: Session
  /** The IST this call continues: its factors count, it is consumed on success and kept (same token) when MFA is still due. */
  ist?: IntermediateSession
}

/**
 * The end of every org-scoped B2B authentication: a member session (60 minutes unless
 * `session_duration_minutes`), or, when the organization wants MFA not yet done, an IST with `mfa_required`.
 */
export async function completeB2B (ctx: EmulatorContext, c: B2BCompletion): Promise<Record<string, unknown>> {
  const { member, org, body } = c
  const minutes = sessionMinutes(body)
  const factors = mergeFactors(c.prior ?? c.ist?.factors ?? [], c.added)
  const base = { member_id: member.member_id, member: memberJson(member), organization: organizationJson(org) }
  if (!c.extend && mfaRequiredFor(org, member, factors)) {
    let ist = c.ist
    if (ist) Object.assign(ist, { organization_id: org.organization_id, member_id: member.member_id, factors, discovery: false })
    else ist = createIntermediateSession(ctx, { email: member.email_address, organization_id: org.organization_id, member_id: member.member_id, discovery: false, factors })
    const autoSms = member.default_mfa_method === 'sms_otp' && member.mfa_phone_number !== ''
    if (autoSms) sendSmsOtp(ctx, member)
    return {
      ...base,
      session_token: '',
      session_jwt: '',
      intermediate_session_token: ist.token,
      member_authenticated: false,
      mfa_required: mfaRequiredJson(member, autoSms)
    }
  }
  if (c.ist) consumeIntermediateSession(ctx, c.ist)
  const session = c.extend
    ? touchSession(ctx, c.extend, minutes, body, c.added)
    : createSession(ctx, {
      vertical: 'b2b',
      subject_id: member.member_id,
      organization_id: org.organization_id,
      factors,
      roles: memberRoles(member),
      minutes: minutes ?? 60,
      body
    })
  return {
    ...base,
    ...(await memberSessionFields(ctx, session, org)),
    intermediate_session_token: '',
    member_authenticated: true
  }
}

export async function memberSessionFields (ctx: EmulatorContext, session: Session, org: Organization): Promise<Record<string, unknown>> {
  return {
    session_token: session.token,
    session_jwt: await sessionJwt(ctx, session, { id: org.organization_id, slug: org.organization_slug }),
    member_session: memberSessionJson(session, org)
  }
}

/** Every organization where this email has a member, as Stytch's DiscoveredOrganization list. */
export function discoveredOrganizations (ctx: EmulatorContext, email: string, factors: Factor[]): Record<string, unknown>[] {
  return ctx.store.membersByEmail(email).flatMap((member) => {
    const org = ctx.store.organizations.get(member.organization_id)
    if (!org) return []
    const mfa = mfaRequiredFor(org, member, factors)
    return [
      {
        member_authenticated: !mfa,
        organization: organizationJson(org),
        membership: { type: 'active_member', member: memberJson(member) },
        ...(mfa ? { mfa_required: mfaRequiredJson(member, false) } : {})
      }
    ]
  })
}

/** Drops the IST fields from a completion, for MFA endpoints whose responses do not carry them. */
export function withoutIntermediate (result: Record<string, unknown>): Record<string, unknown> {
  const { intermediate_session_token: _ist, member_authenticated: _auth, mfa_required: _mfa, ...rest } = result
  return rest
}
