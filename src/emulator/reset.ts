import { createHash } from 'node:crypto'
import type { EmulatorContext, OutboxMessage } from './context.js'
import { fail } from './errors.js'
import { optString, type Body } from './fields.js'
import { iso } from './render.js'
import { opaqueToken } from './keys.js'
import { keepLast, LIMITS, type ResetToken } from './store.js'

const DEFAULT_REDIRECT_URL = 'http://localhost:3000/reset-password'

/** The `stytch_token_type` of the reset link, per vertical. */
const TOKEN_TYPE: Record<ResetToken['vertical'], string> = {
  consumer: 'reset_password',
  b2b: 'multi_tenant_passwords',
  discovery: 'discovery'
}

export interface ResetStart {
  vertical: ResetToken['vertical']
  email: string
  subject_id?: string
  organization_id?: string
  minutes: number
}

/**
 * Issues a reset token and "sends" the email: it lands in the outbox with its link. The PKCE
 * challenge (`pkce_code_challenge` for discovery, `code_challenge` otherwise) and the redirect URL
 * come from the request body.
 */
export function startReset (ctx: EmulatorContext, body: Body, input: ResetStart): ResetToken {
  const { minutes, ...rest } = input
  const challenge = optString(body, input.vertical === 'discovery' ? 'pkce_code_challenge' : 'code_challenge')
  const redirectUrl = optString(body, 'reset_password_redirect_url')
  const reset: ResetToken = {
    ...rest,
    ...(challenge !== undefined ? { code_challenge: challenge } : {}),
    token: opaqueToken(),
    expires_at: ctx.clock.now() + minutes * 60_000,
    used: false
  }
  ctx.store.addResetToken(reset)
  const base = redirectUrl ?? DEFAULT_REDIRECT_URL
  const query = new URLSearchParams({ stytch_token_type: TOKEN_TYPE[input.vertical], token: reset.token })
  const message: OutboxMessage = {
    kind: input.vertical === 'discovery' ? 'discovery_reset_password' : 'reset_password',
    to: input.email,
    token: reset.token,
    link: `${base}${base.includes('?') ? '&' : '?'}${query.toString()}`,
    ...(input.organization_id !== undefined ? { organization_id: input.organization_id } : {}),
    created_at: iso(ctx.clock.now())
  }
  ctx.outbox.push(message)
  keepLast(ctx.outbox, LIMITS.log)
  return reset
}

/** A usable reset token, PKCE checked. The caller marks it used once the reset succeeds. */
export function redeemReset (ctx: EmulatorContext, vertical: ResetToken['vertical'], token: string, verifier: string | undefined): ResetToken {
  const reset = ctx.store.resetTokens.get(token)
  if (!reset || reset.vertical !== vertical || reset.used || reset.expires_at <= ctx.clock.now()) {
    fail(401, 'unable_to_auth_password_reset_token', 'The password reset token is invalid, expired or already used.')
  }
  if (reset.code_challenge === undefined) {
    if (verifier !== undefined) fail(400, 'pkce_did_not_expect_code_verifier', 'A code_verifier was sent but no code_challenge was.')
  } else {
    if (verifier === undefined) fail(400, 'pkce_expected_code_verifier', 'This reset was started with a code_challenge: send its code_verifier.')
    if (createHash('sha256').update(verifier).digest('base64url') !== reset.code_challenge) {
      fail(400, 'pkce_mismatch', 'The code_verifier does not match the code_challenge.')
    }
  }
  return reset
}
