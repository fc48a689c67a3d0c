import { errors, fail } from './errors.js'

/** A parsed JSON request body. Unknown fields are accepted, as Stytch does. */
export type Body = Record<string, unknown>

export function asBody (value: unknown): Body {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) errors.badRequest('Request body must be a JSON object.')
  return value as Body
}

export function optString (body: Body, key: string): string | undefined {
  const value = body[key]
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string') errors.badRequest(`${key} must be a string.`)
  return value
}

export function reqString (body: Body, key: string): string {
  const value = optString(body, key)
  if (value === undefined) fail(400, 'bad_request', `${key} is a required field.`)
  return value
}

export function optInt (body: Body, key: string): number | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) errors.badRequest(`${key} must be an integer.`)
  return value
}

export function optObject (body: Body, key: string): Record<string, unknown> | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'object' || Array.isArray(value)) errors.badRequest(`${key} must be an object.`)
  return value as Record<string, unknown>
}

/** `session_duration_minutes`, checked against Stytch's 5..527040 range. */
export function sessionMinutes (body: Body): number | undefined {
  const minutes = optInt(body, 'session_duration_minutes')
  if (minutes !== undefined && (minutes < 5 || minutes > 527040)) {
    fail(400, 'invalid_session_duration_minutes', 'session_duration_minutes must be between 5 and 527040.')
  }
  return minutes
}

/** `reset_password_expiration_minutes`, 5..10080, default 30. */
export function resetMinutes (body: Body): number {
  const minutes = optInt(body, 'reset_password_expiration_minutes') ?? 30
  if (minutes < 5 || minutes > 10080) {
    fail(400, 'invalid_reset_password_expiration_minutes', 'reset_password_expiration_minutes must be between 5 and 10080.')
  }
  return minutes
}

export function normalizeEmail (email: string): string {
  return email.trim().toLowerCase()
}
