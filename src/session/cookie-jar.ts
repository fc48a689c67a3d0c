import type { SerializeOptions } from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { errors } from '../errors.js'

// The cookie jar: the only place that knows cookie names and attributes (docs/contract.md, Answers and cookies).
// It reads our four cookies from a request, turns a Stytch answer into cookie changes, and
// writes Set-Cookie headers, expiring with the same attributes a cookie was set with. The lines
// themselves come from @fastify/cookie's serializer, which refuses an invalid name, value,
// domain or path rather than writing it. Values are percent-encoded where a cookie cannot carry
// them raw and decoded on read: what is set is what is read.

/** @fastify/cookie's serializer (app.serializeCookie) */
export type CookieSerializer = (name: string, value: string, options: SerializeOptions) => string

export type CookieKind = 'session' | 'jwt' | 'intermediateSession' | 'pkce'
export const COOKIE_KINDS: readonly CookieKind[] = ['session', 'jwt', 'intermediateSession', 'pkce']
export const SESSION_KINDS: readonly CookieKind[] = ['session', 'jwt', 'intermediateSession']

export type CookieValues = Partial<Record<CookieKind, string>>
/** value + lifetime to set, or null to expire */
export type CookieChanges = Partial<Record<CookieKind, { value: string; maxAge: number } | null>>

export const MAX_COOKIE_BYTES = 4096
export const INTERMEDIATE_SESSION_SECONDS = 10 * 60
const TOKEN_FIELDS = ['session_token', 'session_jwt', 'intermediate_session_token'] as const
const EPOCH = new Date(0)

export class CookieJar {
  readonly names: Record<CookieKind, string>
  private readonly byName: Map<string, CookieKind>
  private readonly attributes: SerializeOptions
  private readonly expired: Record<CookieKind, string>

  constructor (
    cookie: Config['cookie'],
    private readonly serialize: CookieSerializer,
    private readonly log: (msg: string, detail: Record<string, unknown>) => void = () => {}
  ) {
    this.names = {
      session: cookie.names.session,
      jwt: cookie.names.jwt,
      intermediateSession: cookie.names.intermediateSession,
      pkce: cookie.names.pkce
    }
    this.byName = new Map(COOKIE_KINDS.map((k) => [this.names[k], k]))
    if (cookie.domain !== undefined && COOKIE_KINDS.some((k) => /^__host-/i.test(this.names[k]))) {
      throw new Error('a __Host- cookie cannot carry a Domain') // configuration never builds one
    }
    this.attributes = {
      path: '/',
      httpOnly: true,
      secure: cookie.secure,
      sameSite: cookie.sameSite.toLowerCase() as 'strict' | 'lax' | 'none',
      ...(cookie.domain !== undefined ? { domain: cookie.domain } : {})
    }
    // Built once, here: an invalid name or domain stops start-up instead of a request.
    const expired = { ...this.attributes, maxAge: 0, expires: EPOCH }
    this.expired = Object.fromEntries(COOKIE_KINDS.map((k) => [k, serialize(this.names[k], '', expired)])) as Record<CookieKind, string>
  }

  /** Our cookies from the request. A duplicate of one of them is a 400: we cannot tell which is current. */
  read (request: FastifyRequest): CookieValues {
    const header = request.headers.cookie
    const values: CookieValues = {}
    if (!header) return values
    for (const part of header.split(';')) {
      const eq = part.indexOf('=')
      if (eq < 0) continue
      const kind = this.byName.get(part.slice(0, eq).trim())
      if (kind === undefined) continue
      if (values[kind] !== undefined) throw errors.invalidRequest(`Duplicate cookie ${this.names[kind]}`)
      const value = part.slice(eq + 1).trim()
      if (value !== '') values[kind] = decode(value)
    }
    return values
  }

  /** Write Set-Cookie headers for a set of changes, at most one per cookie. */
  apply (reply: FastifyReply, changes: CookieChanges): void {
    const headers: string[] = []
    for (const kind of COOKIE_KINDS) {
      const change = changes[kind]
      if (change === undefined) continue
      if (change === null) {
        headers.push(this.expired[kind])
        continue
      }
      const name = this.names[kind]
      const cookie = this.serialize(name, change.value, { ...this.attributes, maxAge: Math.max(0, Math.floor(change.maxAge)) })
      if (cookie.length > MAX_COOKIE_BYTES) { // ASCII: the serializer percent-encodes everything else
        // A browser would silently drop it and the user would look logged out: fail loudly instead.
        this.log('cookie larger than 4096 bytes, not set', { cookie: name, bytes: cookie.length })
        throw errors.internal()
      }
      headers.push(cookie)
    }
    if (headers.length > 0) reply.header('set-cookie', headers)
  }

  /** Expire the given cookies (logout, rejected session). */
  expire (reply: FastifyReply, kinds: readonly CookieKind[]): void {
    this.apply(reply, Object.fromEntries(kinds.map((k) => [k, null])) as CookieChanges)
  }
}

/** A cookie value as it was set: percent-decoded when it was encoded, as it came when it cannot be decoded. */
function decode (value: string): string {
  if (!value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/**
 * What a Stytch answer does to cookies. A session replaces the intermediate session; an
 * intermediate session alone (MFA pending, discovery) replaces any session, since a login starts fresh.
 */
export function cookieChangesFrom (body: Record<string, unknown>, nowMs: number, fallbackSeconds: number): CookieChanges {
  const sessionToken = body.session_token
  const sessionJwt = body.session_jwt
  const ist = body.intermediate_session_token
  if ((typeof sessionToken === 'string' && sessionToken !== '') || (typeof sessionJwt === 'string' && sessionJwt !== '')) {
    const maxAge = sessionMaxAge(body, nowMs, fallbackSeconds)
    return {
      ...(typeof sessionToken === 'string' && sessionToken !== '' ? { session: { value: sessionToken, maxAge } } : {}),
      ...(typeof sessionJwt === 'string' && sessionJwt !== '' ? { jwt: { value: sessionJwt, maxAge } } : {}),
      intermediateSession: null
    }
  }
  if (typeof ist === 'string' && ist !== '') {
    return { intermediateSession: { value: ist, maxAge: INTERMEDIATE_SESSION_SECONDS }, session: null, jwt: null }
  }
  return {}
}

/** Seconds until the session's expires_at (member_session for B2B, session for consumer). */
export function sessionMaxAge (body: Record<string, unknown>, nowMs: number, fallbackSeconds: number): number {
  const session = (body.member_session ?? body.session) as { expires_at?: unknown } | undefined
  const expiresAt = typeof session?.expires_at === 'string' ? Date.parse(session.expires_at) : NaN
  if (Number.isNaN(expiresAt)) return fallbackSeconds
  return Math.max(0, Math.floor((expiresAt - nowMs) / 1000))
}

/** Stytch's answer minus every token field: what the browser may see. */
export function withoutTokens (body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key in body) {
    if (key !== TOKEN_FIELDS[0] && key !== TOKEN_FIELDS[1] && key !== TOKEN_FIELDS[2]) out[key] = body[key]
  }
  return out
}
