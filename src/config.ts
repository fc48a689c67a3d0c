import { isIP } from 'node:net'
import { z } from 'zod'

// The environment, parsed once at start-up. Every variable of docs/contract.md (Configuration) lives here; nothing
// else reads process.env.

const bool = (name: string, fallback: boolean) =>
  z.string().optional().transform((value, ctx) => {
    if (value === undefined || value === '') return fallback
    const v = value.trim().toLowerCase()
    if (['true', '1', 'yes', 'on'].includes(v)) return true
    if (['false', '0', 'no', 'off'].includes(v)) return false
    ctx.addIssue({ code: 'custom', message: `${name} must be true or false` })
    return z.NEVER
  })

const int = (min: number, max: number, fallback?: number) =>
  z.string().optional().transform((value, ctx) => {
    if (value === undefined || value === '') return fallback
    if (!/^\d+$/.test(value.trim())) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number between ${min} and ${max}` })
      return z.NEVER
    }
    const n = Number(value)
    if (n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max}` })
      return z.NEVER
    }
    return n
  })

const optionalString = z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()))

const url = z.string().optional().transform((value, ctx) => {
  if (value === undefined || value.trim() === '') return undefined
  try {
    const parsed = new URL(value.trim())
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme')
    return value.trim()
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http(s) URL' })
    return z.NEVER
  }
})

const origins = z.string().optional().transform((value, ctx) => {
  if (value === undefined || value.trim() === '') return [] as string[]
  const list = value.split(',').map((o) => o.trim()).filter(Boolean)
  for (const origin of list) {
    let parsed: URL | undefined
    try { parsed = new URL(origin) } catch {}
    if (!parsed || parsed.origin !== origin) {
      ctx.addIssue({ code: 'custom', message: `"${origin}" is not an exact origin like https://app.example.com (no path, no trailing slash, never *)` })
      return z.NEVER
    }
  }
  return list
})

// Paths (as the request line shows them) whose successful request lines are not written, like
// oauth2-proxy's --exclude-logging-path: exact paths, or a route pattern such as /auth/verify/*.
const logExcludePaths = z.string().optional().transform((value, ctx) => {
  if (value === undefined || value.trim() === '') return [] as string[]
  const list = value.split(',').map((p) => p.trim()).filter(Boolean)
  for (const path of list) {
    if (!path.startsWith('/') || /[?#\s]/.test(path)) {
      ctx.addIssue({ code: 'custom', message: `"${path}" is not a path like /auth/verify (no query string)` })
      return z.NEVER
    }
  }
  return list
})

// false | hop count | IPs/CIDRs. `true` (trust everyone) is refused: it lets any client forge its IP.
const trustProxy = z.string().optional().transform((value, ctx): false | number | string[] => {
  if (value === undefined || value.trim() === '' || value.trim().toLowerCase() === 'false') return false
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v)
  const list = v.split(',').map((s) => s.trim()).filter(Boolean)
  for (const entry of list) {
    const [ip, bits, ...rest] = entry.split('/')
    const family = isIP(ip ?? '')
    const maxBits = family === 4 ? 32 : 128
    if (family === 0 || rest.length > 0 || (bits !== undefined && (!/^\d+$/.test(bits) || Number(bits) > maxBits))) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not false, a hop count, or an IP/CIDR list` })
      return z.NEVER
    }
  }
  return list
})

const sameSite = z.string().optional().transform((value, ctx) => {
  const v = (value ?? '').trim().toLowerCase()
  if (v === '' || v === 'strict') return 'Strict' as const
  if (v === 'lax') return 'Lax' as const
  if (v === 'none') return 'None' as const
  ctx.addIssue({ code: 'custom', message: 'must be Strict, Lax or None' })
  return z.NEVER
})

const cookieName = (fallback: string) =>
  z.string().optional().transform((value, ctx) => {
    const v = (value ?? '').trim() || fallback
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'must be 1-64 characters of A-Z a-z 0-9 _ . -' })
      return z.NEVER
    }
    // browsers match the prefixes case-insensitively; ours is chosen from COOKIE_SECURE/COOKIE_DOMAIN
    if (/^__(host|secure)-/i.test(v)) {
      ctx.addIssue({ code: 'custom', message: 'must not start with __Host- or __Secure-: the prefix is added from COOKIE_SECURE and COOKIE_DOMAIN' })
      return z.NEVER
    }
    return v
  })

// A host name as a browser accepts it in Domain=: letters, digits and hyphens in dot-separated
// labels of at most 63 characters, 253 in all; no IP address (a browser only accepts one that
// equals the host, where no Domain does the same), no trailing dot (it matches no host). A
// leading dot is ignored by browsers, so it is dropped here. Lower-cased.
const cookieDomain = z.string().optional().transform((value, ctx) => {
  const raw = (value ?? '').trim()
  if (raw === '') return undefined
  const domain = raw.replace(/^\./, '').toLowerCase()
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
  if (domain.length > 253 || !domain.split('.').every((l) => label.test(l))) {
    ctx.addIssue({ code: 'custom', message: `"${raw}" is not a host name like example.com (letters, digits, hyphens and dots only; no port, path, spaces, ";" or "=")` })
    return z.NEVER
  }
  if (/^[0-9.]+$/.test(domain)) {
    ctx.addIssue({ code: 'custom', message: `"${raw}" looks like an IP address: leave COOKIE_DOMAIN unset to scope cookies to the host` })
    return z.NEVER
  }
  return domain
})

const envSchema = z.object({
  NODE_ENV: optionalString,
  STYTCH_PROJECT_ID: optionalString,
  STYTCH_SECRET: optionalString,
  STYTCH_VERTICAL: z.enum(['b2b', 'consumer']).default('b2b'),
  STYTCH_API_URL: url,
  HOST: z.string().default('0.0.0.0'),
  PORT: int(0, 65535, 3000),
  AUTH_PREFIX: z.string().default('/auth').refine((p) => /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(p), 'must look like /auth (leading slash, no trailing slash)'),
  ALLOWED_ORIGINS: origins,
  TRUST_PROXY: trustProxy,
  CSRF_HEADER: z.string().default('X-CSRF').refine((h) => /^[A-Za-z0-9-]{1,64}$/.test(h), 'must be an HTTP header name'),
  COOKIE_SECURE: z.string().optional(),
  COOKIE_SAMESITE: sameSite,
  COOKIE_DOMAIN: cookieDomain,
  SESSION_COOKIE_NAME: cookieName('stytch_session'),
  JWT_COOKIE_NAME: cookieName('stytch_session_jwt'),
  IST_COOKIE_NAME: cookieName('stytch_intermediate_session'),
  PKCE_COOKIE_NAME: cookieName('stytch_pkce'),
  SESSION_DURATION_MINUTES: int(5, 527040, 60),
  SESSION_SLIDING: bool('SESSION_SLIDING', true),
  RESET_PASSWORD_REDIRECT_URL: url,
  LOGIN_REDIRECT_URL: url,
  DISCOVERY_REDIRECT_URL: url,
  RESET_PASSWORD_EXPIRATION_MINUTES: int(5, 10080),
  RESET_PASSWORD_TEMPLATE_ID: optionalString,
  VERIFY_EMAIL_TEMPLATE_ID: optionalString,
  HIDE_ACCOUNT_EXISTENCE: bool('HIDE_ACCOUNT_EXISTENCE', true),
  RESET_PKCE: bool('RESET_PKCE', true),
  JWT_MAX_AGE_SECONDS: int(0, 300, 60),
  VERIFY_COOKIE_COPY_HEADERS: bool('VERIFY_COOKIE_COPY_HEADERS', false),
  RATE_LIMIT_GLOBAL_PER_MINUTE: int(1, 1_000_000, 300),
  // defaults depend on the mode (RATE_LIMIT_DEFAULTS)
  RATE_LIMIT_AUTH_PER_MINUTE: int(1, 1_000_000),
  RATE_LIMIT_IDENTIFIER_PER_HOUR: int(1, 1_000_000),
  REDIS_URL: optionalString,
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000, 500),
  UPSTREAM_TIMEOUT_MS: int(100, 120_000, 10_000),
  BODY_LIMIT_BYTES: int(256, 1_048_576, 16_384),
  SHUTDOWN_TIMEOUT_MS: int(0, 300_000, 10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_EXCLUDE_PATHS: logExcludePaths,
  EMULATOR_PORT: int(0, 65535),
  EMULATOR_DEMO_PASSWORD: optionalString,
  DOCS_UI: optionalString
})

export type Vertical = 'b2b' | 'consumer'

export interface Config {
  production: boolean
  /** true when no Stytch credentials were given outside production: the embedded emulator is used */
  emulator: boolean
  projectId: string
  secret: string
  vertical: Vertical
  /** Stytch base URL without /v1 and without trailing slash */
  apiUrl: string
  host: string
  port: number
  prefix: string
  allowedOrigins: string[]
  trustProxy: false | number | string[]
  csrfHeader: string
  /** CSRF_HEADER as configured, for messages */
  csrfHeaderName: string
  cookie: {
    secure: boolean
    sameSite: 'Strict' | 'Lax' | 'None'
    domain: string | undefined
    names: { session: string; jwt: string; intermediateSession: string; pkce: string }
  }
  sessionDurationMinutes: number
  sessionSliding: boolean
  reset: {
    redirectUrl: string | undefined
    loginRedirectUrl: string | undefined
    discoveryRedirectUrl: string | undefined
    expirationMinutes: number | undefined
    templateId: string | undefined
    verifyEmailTemplateId: string | undefined
    pkce: boolean
    hideAccountExistence: boolean
  }
  jwtMaxAgeSeconds: number
  /**
   * /verify also copies each Set-Cookie line into an X-Set-Cookie-* header, for gateways that
   * forward only one Set-Cookie of a check (nginx). Off by default: the copies carry tokens.
   */
  verifyCookieCopyHeaders: boolean
  rateLimit: { globalPerMinute: number; authPerMinute: number; identifierPerHour: number; redisUrl: string | undefined; redisCommandTimeoutMs: number }
  upstreamTimeoutMs: number
  bodyLimitBytes: number
  shutdownTimeoutMs: number
  logLevel: string
  /** paths whose 2xx/3xx request lines are not written (errors always are) */
  logExcludePaths: string[]
  emulatorPort: number
  emulatorDemoPassword: string
  /** the browsable API reference at /docs (DOCS_UI; default on outside production) */
  docsUi: boolean
}

export class ConfigError extends Error {}

/**
 * Auth-route limits when their variables are unset. Against real Stytch they are strict; in
 * emulator mode (local development, never production) a person clicking through every demo flow
 * twice in a minute (about 30 authenticate, MFA and reset calls) stays well below them.
 */
export const RATE_LIMIT_DEFAULTS = {
  stytch: { authPerMinute: 10, identifierPerHour: 20 },
  emulator: { authPerMinute: 120, identifierPerHour: 600 }
} as const

function defaultApiUrl (projectId: string): string {
  return projectId.startsWith('project-live-') ? 'https://api.stytch.com' : 'https://test.stytch.com'
}

/** Parse the environment once. Throws ConfigError whose message names every bad variable. */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`)
  }
  const e = parsed.data
  const production = e.NODE_ENV === 'production'
  const problems: string[] = []

  const hasCredentials = e.STYTCH_PROJECT_ID !== undefined || e.STYTCH_SECRET !== undefined
  if (hasCredentials || production) {
    if (e.STYTCH_PROJECT_ID === undefined) problems.push('  STYTCH_PROJECT_ID: required' + (production ? ' when NODE_ENV=production' : ' when STYTCH_SECRET is set'))
    if (e.STYTCH_SECRET === undefined) problems.push('  STYTCH_SECRET: required' + (production ? ' when NODE_ENV=production' : ' when STYTCH_PROJECT_ID is set'))
  }
  const emulator = !hasCredentials && !production

  const secureRaw = e.COOKIE_SECURE?.trim().toLowerCase()
  let cookieSecure = !emulator // local http development defaults to plain cookie names
  if (secureRaw !== undefined && secureRaw !== '') {
    if (['true', '1', 'yes', 'on'].includes(secureRaw)) cookieSecure = true
    else if (['false', '0', 'no', 'off'].includes(secureRaw)) cookieSecure = false
    else problems.push('  COOKIE_SECURE: must be true or false')
  }
  if (production && !cookieSecure) problems.push('  COOKIE_SECURE: must be true when NODE_ENV=production')
  const docsUiRaw = e.DOCS_UI?.toLowerCase()
  let docsUi = !production
  if (docsUiRaw !== undefined) {
    if (['true', '1', 'yes', 'on'].includes(docsUiRaw)) docsUi = true
    else if (['false', '0', 'no', 'off'].includes(docsUiRaw)) docsUi = false
    else problems.push('  DOCS_UI: must be true or false')
  }
  if (e.COOKIE_SAMESITE === 'None' && !cookieSecure) problems.push('  COOKIE_SAMESITE: None requires COOKIE_SECURE=true')

  const apiUrl = (e.STYTCH_API_URL ?? defaultApiUrl(e.STYTCH_PROJECT_ID ?? '')).replace(/\/+$/, '')
  if (production && !apiUrl.startsWith('https://')) problems.push('  STYTCH_API_URL: must be https:// when NODE_ENV=production')

  if (problems.length > 0) throw new ConfigError(`Invalid environment:\n${problems.join('\n')}`)

  // __Host- (Secure, Path=/, no Domain) unless a Domain is set, then __Secure-; none on plain http
  const prefix = (name: string) => (cookieSecure ? (e.COOKIE_DOMAIN ? '__Secure-' : '__Host-') : '') + name
  const cookieNames = { SESSION_COOKIE_NAME: e.SESSION_COOKIE_NAME, JWT_COOKIE_NAME: e.JWT_COOKIE_NAME, IST_COOKIE_NAME: e.IST_COOKIE_NAME, PKCE_COOKIE_NAME: e.PKCE_COOKIE_NAME }
  const seen = new Map<string, string>()
  for (const [variable, name] of Object.entries(cookieNames)) {
    const other = seen.get(name)
    if (other !== undefined) problems.push(`  ${variable}: "${name}" is already the name of ${other}`)
    seen.set(name, variable)
  }
  if (problems.length > 0) throw new ConfigError(`Invalid environment:\n${problems.join('\n')}`)

  return {
    production,
    emulator,
    projectId: e.STYTCH_PROJECT_ID ?? '',
    secret: e.STYTCH_SECRET ?? '',
    vertical: e.STYTCH_VERTICAL,
    apiUrl,
    host: e.HOST,
    port: e.PORT ?? 3000,
    prefix: e.AUTH_PREFIX,
    allowedOrigins: e.ALLOWED_ORIGINS,
    trustProxy: e.TRUST_PROXY,
    csrfHeader: e.CSRF_HEADER.toLowerCase(),
    csrfHeaderName: e.CSRF_HEADER,
    cookie: {
      secure: cookieSecure,
      sameSite: e.COOKIE_SAMESITE,
      domain: e.COOKIE_DOMAIN,
      names: {
        session: prefix(e.SESSION_COOKIE_NAME),
        jwt: prefix(e.JWT_COOKIE_NAME),
        intermediateSession: prefix(e.IST_COOKIE_NAME),
        pkce: prefix(e.PKCE_COOKIE_NAME)
      }
    },
    sessionDurationMinutes: e.SESSION_DURATION_MINUTES ?? 60,
    sessionSliding: e.SESSION_SLIDING,
    reset: {
      redirectUrl: e.RESET_PASSWORD_REDIRECT_URL,
      loginRedirectUrl: e.LOGIN_REDIRECT_URL,
      discoveryRedirectUrl: e.DISCOVERY_REDIRECT_URL,
      expirationMinutes: e.RESET_PASSWORD_EXPIRATION_MINUTES,
      templateId: e.RESET_PASSWORD_TEMPLATE_ID,
      verifyEmailTemplateId: e.VERIFY_EMAIL_TEMPLATE_ID,
      pkce: e.RESET_PKCE,
      hideAccountExistence: e.HIDE_ACCOUNT_EXISTENCE
    },
    jwtMaxAgeSeconds: e.JWT_MAX_AGE_SECONDS ?? 60,
    verifyCookieCopyHeaders: e.VERIFY_COOKIE_COPY_HEADERS,
    rateLimit: {
      globalPerMinute: e.RATE_LIMIT_GLOBAL_PER_MINUTE ?? 300,
      authPerMinute: e.RATE_LIMIT_AUTH_PER_MINUTE ?? RATE_LIMIT_DEFAULTS[emulator ? 'emulator' : 'stytch'].authPerMinute,
      identifierPerHour: e.RATE_LIMIT_IDENTIFIER_PER_HOUR ?? RATE_LIMIT_DEFAULTS[emulator ? 'emulator' : 'stytch'].identifierPerHour,
      redisUrl: e.REDIS_URL,
      redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS ?? 500
    },
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS ?? 10_000,
    bodyLimitBytes: e.BODY_LIMIT_BYTES ?? 16_384,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS ?? 10_000,
    logLevel: e.LOG_LEVEL,
    logExcludePaths: e.LOG_EXCLUDE_PATHS,
    emulatorPort: e.EMULATOR_PORT ?? 0, // npm start: ephemeral unless pinned
    emulatorDemoPassword: e.EMULATOR_DEMO_PASSWORD ?? 'demo-password-123!',
    docsUi
  }
}
