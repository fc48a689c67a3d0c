/**
 * A small stand-in for Stytch's zxcvbn policy and HaveIBeenPwned check: deterministic, offline.
 * A password is valid when it scores >= 3 and is not in the breached list.
 */
const COMMON = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwerty123',
  'qwertyuiop', 'iloveyou', 'letmein123', 'welcome123', 'admin1234', 'abc12345', 'football',
  'baseball', 'sunshine', 'princess', 'trustno1', 'passw0rd', '11111111', '00000000'
])

/** Long enough to pass the score rule, but "seen in a breach". */
export const BREACHED = new Set(['password123!', 'P@ssw0rd2024!', 'Summer2024!!', 'correct horse battery staple'])

export interface Strength {
  valid: boolean
  score: number
  breached: boolean
  warning: string
  suggestions: string[]
  luds: {
    has_lower_case: boolean
    has_upper_case: boolean
    has_digit: boolean
    has_symbol: boolean
    missing_complexity: number
    missing_characters: number
  }
}

export function checkStrength (password: string, email?: string): Strength {
  const luds = {
    has_lower_case: /\p{Ll}/u.test(password),
    has_upper_case: /\p{Lu}/u.test(password),
    has_digit: /\p{Nd}/u.test(password),
    has_symbol: /[^\p{L}\p{Nd}]/u.test(password)
  }
  const classes = Object.values(luds).filter(Boolean).length
  const length = [...password].length
  const breached = BREACHED.has(password)
  const lower = password.toLowerCase()
  const emailLower = email?.toLowerCase()
  const common = COMMON.has(lower) || (emailLower !== undefined && (lower === emailLower || lower === emailLower.split('@')[0]))
  let score: number
  if (common || length < 8) score = length < 4 ? 0 : 1
  else if (length >= 16 || (length >= 12 && classes >= 2)) score = 4
  else if (length >= 10 || classes >= 3) score = 3
  else score = 2
  const valid = score >= 3 && !breached
  const suggestions = valid ? [] : ['Add another word or two. Uncommon words are better.']
  const warning = breached
    ? 'This password has appeared in a data breach.'
    : common
      ? 'This is a very common password.'
      : valid
        ? ''
        : 'This password is too short or too simple.'
  return {
    valid,
    score,
    breached,
    warning,
    suggestions,
    luds: { ...luds, missing_complexity: Math.max(0, 3 - classes), missing_characters: Math.max(0, 8 - length) }
  }
}
