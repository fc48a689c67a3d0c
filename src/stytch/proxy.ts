import { createHash, randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { BffError, errors } from '../errors.js'
import { cookieChangesFrom, withoutTokens, SESSION_KINDS, type CookieChanges, type CookieJar, type CookieValues } from '../session/cookie-jar.js'
import type { StytchBody, StytchClient } from './client.js'
import { ACCOUNT_NOT_FOUND_ERRORS, CONFIG_FIELDS, SESSION_ENDED_ERRORS, stytchPath, type Endpoint } from './endpoints.js'

// The one handler behind every row of the endpoint table:
// cookies and configuration fill the server-owned fields -> Stytch -> tokens become cookies,
// the rest of Stytch's answer is mirrored.

const DEFAULT_RESET_EXPIRATION_MINUTES = 30 // Stytch's default

export interface ProxyDeps { config: Config; stytch: StytchClient; cookieJar: CookieJar }

export function proxyHandler (endpoint: Endpoint, { config, stytch, cookieJar }: ProxyDeps) {
  const path = stytchPath(endpoint)
  const fill = (endpoint.fill ?? []).map((field) => [field, CONFIG_FIELDS[field](config)] as const).filter(([, v]) => v !== undefined)
  const pkceCookieSeconds = (config.reset.expirationMinutes ?? DEFAULT_RESET_EXPIRATION_MINUTES) * 60
  const hideAccount = endpoint.resetStart === true && config.reset.hideAccountExistence
  const hideFailedCheck = endpoint.passwordCheck === true && config.reset.hideAccountExistence

  return async function proxy (request: FastifyRequest, reply: FastifyReply) {
    const cookies = cookieJar.read(request)
    const payload: Record<string, unknown> = { ...(request.body as Record<string, unknown>) }
    for (const [field, value] of fill) payload[field] = value
    if (endpoint.credential) addCredential(endpoint.credential, cookies, payload)

    const changes: CookieChanges = {}
    const pkce = endpoint.pkce
    if (pkce && 'challenge' in pkce && config.reset.pkce) {
      const verifier = randomBytes(32).toString('base64url')
      payload[pkce.challenge] = createHash('sha256').update(verifier).digest('base64url')
      changes.pkce = { value: verifier, maxAge: pkceCookieSeconds }
    } else if (pkce && 'verifier' in pkce && cookies.pkce) {
      payload[pkce.verifier] = cookies.pkce
    }

    let answer: StytchBody
    try {
      answer = await stytch.post(path, payload)
    } catch (err) {
      if (err instanceof BffError && err.statusCode < 500) {
        if (hideAccount && ACCOUNT_NOT_FOUND_ERRORS.has(err.errorType)) return hiddenAnswer(request, reply, cookieJar, changes)
        // unknown account and wrong password: one answer, built here so nothing of Stytch's differs
        if (hideFailedCheck && (err.errorType === 'unauthorized_credentials' || ACCOUNT_NOT_FOUND_ERRORS.has(err.errorType))) {
          throw errors.unauthorizedCredentials(err.stytchRequestId)
        }
        if (endpoint.credential && SESSION_ENDED_ERRORS.has(err.errorType)) cookieJar.expire(reply, SESSION_KINDS)
      }
      throw err
    }

    if (hideAccount) return hiddenAnswer(request, reply, cookieJar, changes)
    if (pkce && 'verifier' in pkce && cookies.pkce) changes.pkce = null // a reset link completes once
    if (endpoint.setsCookies) Object.assign(changes, cookieChangesFrom(answer, Date.now(), config.sessionDurationMinutes * 60))
    cookieJar.apply(reply, changes)
    return reply.code(200).send(withoutTokens(answer))
  }
}

// Stytch rejects requests carrying both a session token and a JWT: send exactly one.
function addCredential (credential: NonNullable<Endpoint['credential']>, cookies: CookieValues, payload: Record<string, unknown>): void {
  if (credential !== 'session' && cookies.intermediateSession) {
    payload.intermediate_session_token = cookies.intermediateSession
  } else if (credential !== 'intermediateSession' && cookies.session) {
    payload.session_token = cookies.session
  } else if (credential !== 'intermediateSession' && cookies.jwt) {
    payload.session_jwt = cookies.jwt
  } else {
    throw errors.sessionMissing()
  }
}

// The same answer whether or not the account exists: nothing in it depends on Stytch's reply.
function hiddenAnswer (request: FastifyRequest, reply: FastifyReply, cookieJar: CookieJar, changes: CookieChanges) {
  cookieJar.apply(reply, changes)
  return reply.code(200).send({ status_code: 200, request_id: request.id })
}
