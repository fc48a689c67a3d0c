import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose'
import type { Vertical } from '../config.js'
import { BffError } from '../errors.js'

// Local verification of Stytch session JWTs for forward auth (GET /verify). RS256 only, typ JWT,
// aud = project id, iss = stytch.com/{project_id} or the API base URL. The JWKS is fetched once,
// kept, and re-fetched on an unknown kid at most once per 30 s, so forged kids cannot make us
// hammer Stytch. Verified tokens are kept in a bounded map until they expire or grow older than
// JWT_MAX_AGE_SECONDS, so the hot path is one Map lookup and one comparison.

export const SESSION_CLAIM = 'https://stytch.com/session'
export const ORGANIZATION_CLAIM = 'https://stytch.com/organization'

/** Identity headers for the gateway, lower-cased names, ready for reply.headers(). */
export type IdentityHeaders = Record<string, string>

export interface JwtVerifierOptions {
  projectId: string
  /** Stytch base URL without /v1: also an accepted issuer (custom domains) */
  apiUrl: string
  vertical: Vertical
  maxAgeSeconds: number
  /** GET the project's JWKS (through the Stytch client) */
  fetchJwks: () => Promise<unknown>
  /** milliseconds since the epoch; tests inject a clock */
  now?: () => number
  /** verified tokens kept at most (oldest dropped first) */
  cacheSize?: number
  /** smallest interval between two JWKS fetches once keys are loaded */
  refetchIntervalMs?: number
  /** smallest interval between two attempts while no JWKS was ever loaded */
  retryIntervalMs?: number
  /** a JWKS answer that is not a usable key set */
  onJwksError?: (reason: string) => void
}

/** identity when the JWT alone proves the session; else whether Stytch may still refresh it */
export type JwtCheck = { identity: IdentityHeaders; refresh?: undefined } | { identity?: undefined; refresh: boolean }

interface Verified { token: string; headers: IdentityHeaders; trustedUntil: number }

/**
 * Cache key: the token's last characters (its RS256 signature's tail). Hashing the whole ~1.8 KB
 * token for a Map lookup cost about 4 µs per verify; a hit still compares the whole token.
 */
const KEY_CHARS = 43
const cacheKey = (token: string): string => token.slice(-KEY_CHARS)

// Values that may go into a header as they are; anything else makes the JWT unusable locally.
const HEADER_SAFE = /^[\x21-\x7e]{1,512}$/
const ROLE_SAFE = /^[\x21-\x2b\x2d-\x7e]{1,256}$/ // no comma: roles are joined with one

export class JwtVerifier {
  private readonly cache = new Map<string, Verified>()
  private readonly cacheSize: number
  private readonly maxAgeMs: number
  private readonly refetchIntervalMs: number
  private readonly retryIntervalMs: number
  private readonly now: () => number
  private readonly verifyOptions: JWTVerifyOptions
  private readonly b2b: boolean
  private keys: ReturnType<typeof createLocalJWKSet> | undefined
  private loading: Promise<void> | undefined
  private lastFetchAt = Number.NEGATIVE_INFINITY
  /** JWKS fetches started (tests, readiness) */
  jwksFetches = 0

  constructor (private readonly opts: JwtVerifierOptions) {
    this.cacheSize = opts.cacheSize ?? 10_000
    this.maxAgeMs = opts.maxAgeSeconds * 1000
    this.refetchIntervalMs = opts.refetchIntervalMs ?? 30_000
    this.retryIntervalMs = opts.retryIntervalMs ?? 1_000
    this.now = opts.now ?? Date.now
    this.b2b = opts.vertical === 'b2b'
    this.verifyOptions = {
      algorithms: ['RS256'],
      typ: 'JWT',
      audience: opts.projectId,
      issuer: [`stytch.com/${opts.projectId}`, opts.apiUrl],
      requiredClaims: ['iat', 'exp', 'sub']
    }
  }

  /** true once a JWKS has been loaded (readiness) */
  get loaded (): boolean {
    return this.keys !== undefined
  }

  /** The hot path: identity headers of an already verified token that is still young enough. */
  cached (token: string): IdentityHeaders | undefined {
    const key = cacheKey(token)
    const hit = this.cache.get(key)
    if (hit === undefined || hit.token !== token) return undefined
    if (this.now() < hit.trustedUntil) return hit.headers
    this.cache.delete(key)
    return undefined
  }

  /**
   * Identity headers when the token is a valid session JWT of this project, younger than
   * JWT_MAX_AGE_SECONDS; undefined otherwise (forged, expired, too old, or no keys to tell).
   */
  async verify (token: string): Promise<IdentityHeaders | undefined> {
    return (await this.check(token)).identity
  }

  /**
   * What a JWT tells on its own: identity headers when it is valid and young enough; otherwise
   * whether Stytch could still refresh it (`refresh`: signed by a key of the project but expired
   * or older than JWT_MAX_AGE_SECONDS, or signed with a key we do not know yet, or no JWKS to
   * tell) or it is refused outright (bad signature, algorithm, type, audience, issuer, garbage).
   */
  async check (token: string): Promise<JwtCheck> {
    const known = this.cached(token)
    if (known !== undefined) return { identity: known }
    const now = this.now()
    let payload
    try {
      ({ payload } = await jwtVerify(token, this.getKey, { ...this.verifyOptions, currentDate: new Date(now) }))
    } catch (err) {
      // jose checks the signature before the time claims: an expired JWT was signed by the project
      const refresh = err instanceof joseErrors.JWTExpired || err instanceof joseErrors.JWKSNoMatchingKey ||
        (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'nbf')
      return { refresh }
    }
    const trustedUntil = Math.min((payload.exp as number) * 1000, (payload.iat as number) * 1000 + this.maxAgeMs)
    if (now >= trustedUntil) return { refresh: true }
    const headers = this.identityFromClaims(payload)
    if (headers === undefined) return { refresh: true } // genuine, but its claims cannot go into headers
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next()
      if (oldest.done !== true) this.cache.delete(oldest.value)
    }
    this.cache.set(cacheKey(token), { token, headers, trustedUntil })
    return { identity: headers }
  }

  /** Load the JWKS now (readiness probes); resolves whether or not it worked. */
  async load (): Promise<boolean> {
    if (this.keys === undefined) await this.fetchKeys(false)
    return this.keys !== undefined
  }

  private identityFromClaims (payload: Record<string, unknown>): IdentityHeaders | undefined {
    const session = payload[SESSION_CLAIM] as { id?: unknown; roles?: unknown } | undefined
    const organization = payload[ORGANIZATION_CLAIM] as { organization_id?: unknown } | undefined
    return identityHeaders(this.b2b, {
      sessionId: session?.id,
      subjectId: payload.sub,
      organizationId: organization?.organization_id,
      roles: session?.roles
    })
  }

  // jose calls this per verification: the cached key set, or one re-fetch on an unknown kid.
  private readonly getKey: JWTVerifyGetKey = async (header, token) => {
    if (this.keys === undefined) await this.fetchKeys(false)
    const keys = this.keys
    if (keys === undefined) throw new joseErrors.JWKSNoMatchingKey()
    try {
      return await keys(header, token)
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err
      await this.fetchKeys(true)
      if (this.keys === keys) throw err
      return this.keys!(header, token)
    }
  }

  /** At most one fetch in flight; at most one per interval. A failed fetch keeps the old keys. */
  private async fetchKeys (refetch: boolean): Promise<void> {
    if (this.loading !== undefined) return this.loading
    if (this.keys !== undefined && !refetch) return
    const interval = this.keys === undefined ? this.retryIntervalMs : this.refetchIntervalMs
    if (this.now() - this.lastFetchAt < interval) return
    this.lastFetchAt = this.now()
    this.jwksFetches++
    this.loading = (async () => {
      try {
        const body = await this.opts.fetchJwks()
        const keys = (body as { keys?: unknown } | null)?.keys
        if (!Array.isArray(keys) || keys.length === 0) {
          this.opts.onJwksError?.('JWKS answer has no keys')
          return
        }
        this.keys = createLocalJWKSet(body as JSONWebKeySet)
      } catch (err) {
        // upstream failures are already logged by the Stytch client
        if (!(err instanceof BffError)) this.opts.onJwksError?.(err instanceof Error ? err.message : 'JWKS fetch failed')
      } finally {
        this.loading = undefined
      }
    })()
    return this.loading
  }
}

export interface IdentityFields { sessionId: unknown; subjectId: unknown; organizationId: unknown; roles: unknown }

/** The gateway's identity headers, or undefined when a field is missing or not header-safe. */
export function identityHeaders (b2b: boolean, fields: IdentityFields): IdentityHeaders | undefined {
  const { sessionId, subjectId, organizationId, roles } = fields
  if (typeof sessionId !== 'string' || !HEADER_SAFE.test(sessionId)) return undefined
  if (typeof subjectId !== 'string' || !HEADER_SAFE.test(subjectId)) return undefined
  let joined = ''
  if (roles !== undefined) {
    if (!Array.isArray(roles)) return undefined
    for (const role of roles) {
      if (typeof role !== 'string' || !ROLE_SAFE.test(role)) return undefined
      joined = joined === '' ? role : `${joined},${role}`
    }
  }
  if (!b2b) return { 'x-stytch-session-id': sessionId, 'x-stytch-user-id': subjectId, 'x-stytch-roles': joined }
  if (typeof organizationId !== 'string' || !HEADER_SAFE.test(organizationId)) return undefined
  return { 'x-stytch-session-id': sessionId, 'x-stytch-member-id': subjectId, 'x-stytch-organization-id': organizationId, 'x-stytch-roles': joined }
}

/** Identity headers from a sessions/authenticate answer (member_session for B2B, session for consumer). */
export function identityFromSessionAnswer (b2b: boolean, body: Record<string, unknown>): IdentityHeaders | undefined {
  if (b2b) {
    const s = body.member_session as Record<string, unknown> | undefined
    return s && identityHeaders(true, { sessionId: s.member_session_id, subjectId: s.member_id, organizationId: s.organization_id, roles: s.roles })
  }
  const s = body.session as Record<string, unknown> | undefined
  return s && identityHeaders(false, { sessionId: s.session_id, subjectId: s.user_id, organizationId: undefined, roles: s.roles })
}
