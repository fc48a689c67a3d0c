import type { Config } from '../config.js'
import { BffError, errors } from '../errors.js'
import type { StytchBody, StytchClient } from '../stytch/client.js'
import { sessionPaths } from '../stytch/endpoints.js'
import { cookieChangesFrom, type CookieChanges, type CookieValues } from './cookie-jar.js'
import type { JwtCheck, JwtVerifier } from './jwt-verifier.js'

// Authenticating the cookie session upstream (sessions/authenticate), shared by GET /session and
// the refresh path of /verify. Concurrent calls for one session in this process share one
// upstream call. A Stytch 4xx means the session is over: session_invalid.

export type SessionAuthenticator = (cookies: CookieValues) => Promise<StytchBody>

export function createSessionAuthenticator (config: Config, stytch: StytchClient): SessionAuthenticator {
  const path = sessionPaths(config.vertical).authenticate
  const inFlight = new Map<string, Promise<StytchBody>>()

  const call = async (payload: Record<string, unknown>): Promise<StytchBody> => {
    try {
      return await stytch.post(path, payload)
    } catch (err) {
      if (err instanceof BffError && err.statusCode < 500) throw errors.sessionInvalid()
      throw err
    }
  }

  return (cookies) => {
    // Prefer the opaque token: it outlives the 5-minute JWT.
    const payload: Record<string, unknown> = cookies.session ? { session_token: cookies.session } : cookies.jwt ? { session_jwt: cookies.jwt } : {}
    const key = cookies.session ?? cookies.jwt
    if (key === undefined) return Promise.reject(errors.sessionMissing())
    if (config.sessionSliding) payload.session_duration_minutes = config.sessionDurationMinutes
    let pending = inFlight.get(key)
    if (pending === undefined) {
      pending = call(payload).finally(() => inFlight.delete(key))
      inFlight.set(key, pending)
    }
    return pending
  }
}

/**
 * The cookies a sessions/authenticate answer refreshes: the JWT always; the session cookie only
 * when sliding, re-issued with the Max-Age of the extended expires_at. The IST is left alone.
 */
export function refreshedCookies (body: StytchBody, sliding: boolean, nowMs: number, fallbackSeconds: number): CookieChanges {
  const { jwt, session } = cookieChangesFrom(body, nowMs, fallbackSeconds)
  return { ...(jwt ? { jwt } : {}), ...(sliding && session ? { session } : {}) }
}

/** What a session that is over leaves behind: the session, JWT and IST cookies expired. The PKCE cookie stays: a reset in progress is not a session. */
export const SESSION_OVER: CookieChanges = { jwt: null, session: null, intermediateSession: null }

/** A 401 that says the session is over (as opposed to no session at all, or Stytch failing). */
export const isSessionOver = (err: unknown): boolean => err instanceof BffError && err.errorType === 'session_invalid'

export interface SessionRefresh { answer: StytchBody; changes: CookieChanges }
/** `jwtCheck`: what the JWT cookie already told the caller, so it is not checked twice */
export type SessionRefresher = (cookies: CookieValues, jwtCheck?: JwtCheck) => Promise<SessionRefresh>

/**
 * The one rule GET /session and /verify (once its JWT is not young enough) share for the same
 * cookies: the opaque session token goes to Stytch when there is one; otherwise the JWT does,
 * unless it is refused on its own (bad signature, wrong project, garbage), which is a 401
 * session_invalid without an upstream call. A JWT-only browser past JWT_MAX_AGE_SECONDS is
 * therefore refreshed while Stytch accepts its session, and refused by both routes once it does
 * not. Callers expire SESSION_OVER on a session_invalid.
 */
export function createSessionRefresher (config: Config, authenticate: SessionAuthenticator, jwtVerifier: JwtVerifier, now: () => number = Date.now): SessionRefresher {
  const fallbackSeconds = config.sessionDurationMinutes * 60
  return async (cookies, jwtCheck) => {
    if (cookies.session === undefined && cookies.jwt !== undefined) {
      const check = jwtCheck ?? await jwtVerifier.check(cookies.jwt)
      if (check.identity === undefined && !check.refresh) throw errors.sessionInvalid()
    }
    const answer = await authenticate(cookies)
    return { answer, changes: refreshedCookies(answer, config.sessionSliding, now(), fallbackSeconds) }
  }
}
