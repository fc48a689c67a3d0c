import type { Strength } from '../strength.js'

/** The fields both strength_check responses share. */
export function strengthCheckResponse (s: Strength): Record<string, unknown> {
  return {
    valid_password: s.valid,
    score: s.score,
    breached_password: s.breached,
    strength_policy: 'zxcvbn',
    breach_detection_on_create: true
  }
}
