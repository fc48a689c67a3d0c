import { completeB2B, memberOrFail, organizationOrFail, sendSmsOtp, withoutIntermediate } from '../b2b.js'
import type { EmulatorContext } from '../context.js'
import { errors, fail } from '../errors.js'
import { optString, reqString, sessionMinutes, type Body } from '../fields.js'
import { memberJson, organizationJson } from '../render.js'
import { stytchId } from '../keys.js'
import { post, type EmulatorRoute } from '../route.js'
import { intermediateSession, sessionFromBody } from '../sessions.js'
import { hotp, type Factor, type Member, type Organization } from '../store.js'

/**
 * Finishes an MFA step: the member's IST (consumed) or session (extended) plus the new factor.
 * Exactly one of intermediate_session_token, session_token, session_jwt.
 */
async function finishMfa (
  ctx: EmulatorContext,
  body: Body,
  verify: (member: Member) => Factor
): Promise<Record<string, unknown>> {
  const { org, member } = target(ctx, body)
  sessionMinutes(body)
  const istToken = optString(body, 'intermediate_session_token')
  if (istToken !== undefined && (optString(body, 'session_token') ?? optString(body, 'session_jwt')) !== undefined) {
    fail(400, 'too_many_session_arguments', 'Provide exactly one of intermediate_session_token, session_token or session_jwt.')
  }
  const ist = istToken === undefined ? undefined : intermediateSession(ctx, istToken)
  const session = ist ? undefined : await sessionFromBody(ctx, body, 'b2b', true)
  if (ist && (ist.email !== member.email_address || (ist.organization_id ?? org.organization_id) !== org.organization_id)) {
    fail(400, 'invalid_intermediate_session_token_for_organization', 'The intermediate session does not belong to this member.')
  }
  if (session && session.subject_id !== member.member_id) errors.sessionNotFound()
  const added = [verify(member)]
  const result = await completeB2B(ctx, {
    member,
    org,
    body,
    added,
    ...(ist ? { ist } : {}),
    ...(session ? { extend: session } : {})
  })
  return withoutIntermediate(result)
}

function target (ctx: EmulatorContext, body: Body): { org: Organization; member: Member } {
  const org = organizationOrFail(ctx, reqString(body, 'organization_id'))
  return { org, member: memberOrFail(ctx, org, reqString(body, 'member_id')) }
}

function factor (ctx: EmulatorContext, f: Omit<Factor, 'created_at' | 'last_authenticated_at'>): Factor {
  const now = ctx.clock.now()
  return { ...f, created_at: now, last_authenticated_at: now }
}

const totpAuthenticate: EmulatorRoute['handle'] = (ctx, body) => {
  const code = reqString(body, 'code')
  return finishMfa(ctx, body, (member) => {
    const totp = member.totp ?? fail(400, 'totp_not_found', 'This member has no TOTP registration.')
    const step = Math.floor(ctx.clock.now() / 30_000)
    if (![step - 1, step, step + 1].some((s) => hotp(totp.secret, s) === code)) {
      fail(404, 'totp_code_not_found', 'The TOTP code is invalid.')
    }
    return factor(ctx, {
      type: 'totp',
      delivery_method: 'authenticator_app',
      authenticator_app_factor: { totp_id: totp.totp_registration_id }
    })
  })
}

export const b2bMfaRoutes: EmulatorRoute[] = [
  post('/v1/b2b/otps/sms/send', (ctx, body) => {
    const { org, member } = target(ctx, body)
    const phone = optString(body, 'mfa_phone_number')
    if (member.mfa_phone_number === '') {
      if (phone === undefined) fail(400, 'no_mfa_phone_number', 'The member has no MFA phone number: send mfa_phone_number.')
      member.mfa_phone_number = phone
    } else if (phone !== undefined && phone !== member.mfa_phone_number) {
      fail(400, 'mfa_phone_number_mismatch', 'mfa_phone_number does not match the member’s phone number.')
    }
    sendSmsOtp(ctx, member)
    return { member_id: member.member_id, member: memberJson(member), organization: organizationJson(org) }
  }),

  post('/v1/b2b/otps/sms/authenticate', (ctx, body) => {
    const code = reqString(body, 'code')
    return finishMfa(ctx, body, (member) => {
      const otp = ctx.store.otps.get(member.member_id)
      if (!otp || otp.code !== code || otp.expires_at <= ctx.clock.now()) {
        fail(404, 'otp_code_not_found', 'The OTP code is invalid, expired or already used.')
      }
      ctx.store.otps.delete(member.member_id)
      if (member.mfa_phone_id === '') member.mfa_phone_id = stytchId('mfa-phone')
      return factor(ctx, {
        type: 'otp',
        delivery_method: 'sms',
        phone_number_factor: { phone_id: member.mfa_phone_id, phone_number: otp.phone }
      })
    })
  }),

  // Stytch's path is /v1/b2b/totp/authenticate (stytch-node); /totps/ is served too, the path the BFF route uses.
  post('/v1/b2b/totp/authenticate', totpAuthenticate),
  post('/v1/b2b/totps/authenticate', totpAuthenticate),

  post('/v1/b2b/recovery_codes/recover', async (ctx, body) => {
    const code = reqString(body, 'recovery_code')
    let remaining = 0
    const result = await finishMfa(ctx, body, (member) => {
      const entry = member.recovery_codes.find((c) => !c.used && c.code === code)
      if (!entry) fail(404, 'recovery_code_not_found', 'The recovery code is invalid or already used.')
      entry.used = true
      remaining = member.recovery_codes.filter((c) => !c.used).length
      return factor(ctx, {
        type: 'recovery_codes',
        delivery_method: 'recovery_code',
        recovery_code_factor: { totp_recovery_code_id: entry.id }
      })
    })
    return { ...result, recovery_codes_remaining: remaining }
  })
]
