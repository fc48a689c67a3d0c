import type { Config } from '../config.js'
import { BffError, errors } from '../errors.js'
import type { StytchBody, StytchClient } from '../stytch/client.js'
import { sessionPaths } from '../stytch/endpoints.js'
import { cookieChangesFrom, type CookieChanges, type CookieValues } from './cookie-jar.js'

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
