// The one place BFF errors are created. Routes and plugins throw these; the error handler
// (plugins/error-handler.ts) renders them in the error envelope (docs/contract.md, Errors).

export interface Issue { path: string; message: string }

export class BffError extends Error {
  readonly statusCode: number
  readonly errorType: string
  readonly issues: Issue[] | undefined
  readonly stytchRequestId: string | undefined
  /** extra response headers, e.g. Retry-After or Allow */
  readonly headers: Record<string, string> | undefined
  /** a login half way through (IST only): what the page needs to resume it, never a token */
  readonly intermediateSession: Record<string, unknown> | undefined

  constructor (statusCode: number, errorType: string, message: string, extra: { issues?: Issue[]; stytchRequestId?: string; headers?: Record<string, string>; intermediateSession?: Record<string, unknown> } = {}) {
    super(message)
    this.name = 'BffError'
    this.statusCode = statusCode
    this.errorType = errorType
    this.issues = extra.issues
    this.stytchRequestId = extra.stytchRequestId
    this.headers = extra.headers
    this.intermediateSession = extra.intermediateSession
  }
}

/** a client-supplied value made safe to quote in a message: printable ASCII, at most 100 characters */
function printable (value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?')
  return clean.length > 100 ? clean.slice(0, 100) + '...' : clean
}

export const errors = {
  invalidRequest: (message: string, issues?: Issue[]) => new BffError(400, 'invalid_request', message, issues ? { issues } : {}),
  fieldNotAllowed: (fields: string[]) => new BffError(400, 'field_not_allowed', `Field${fields.length > 1 ? 's' : ''} not allowed: ${fields.join(', ')} (set by the server)`, {
    issues: fields.map((f) => ({ path: `/${f}`, message: 'set by the server, not the browser' }))
  }),
  unsupportedMediaType: () => new BffError(415, 'unsupported_media_type', 'Content-Type must be application/json'),
  payloadTooLarge: () => new BffError(413, 'payload_too_large', 'Request body is too large'),
  csrfFailed: (message: string) => new BffError(403, 'csrf_failed', message),
  /** `origin` is what the browser sent: shortened and stripped of control characters before it is echoed */
  originNotAllowed: (origin: string) => new BffError(403, 'origin_not_allowed',
    `Origin ${JSON.stringify(printable(origin))} is not allowed: add it to ALLOWED_ORIGINS (comma-separated exact origins) or call from the service's own origin`),
  sessionMissing: () => new BffError(401, 'session_missing', 'No session'),
  sessionInvalid: () => new BffError(401, 'session_invalid', 'Session is no longer valid'),
  /** IST only, a second factor is due: the organization, member and factors to finish with */
  mfaRequired: (intermediateSession: Record<string, unknown>) => new BffError(401, 'mfa_required', 'No session yet: finish the second factor of this login', { intermediateSession }),
  /** IST only, from a discovery login: the organizations to pick from */
  discoveryPending: (intermediateSession: Record<string, unknown>) => new BffError(401, 'discovery_pending', 'No session yet: pick an organization to finish this login', { intermediateSession }),
  /** `variable`: the configuration variable that sets the limit reached, named so an operator knows what to change */
  rateLimited: (retryAfterSeconds: number, variable?: string) => new BffError(429, 'rate_limited',
    `Too many requests, retry in ${retryAfterSeconds} s${variable ? ` (limit set by ${variable})` : ''}`,
    { headers: { 'retry-after': String(retryAfterSeconds) } }),
  upstreamTimeout: () => new BffError(504, 'upstream_timeout', 'Stytch did not answer in time'),
  upstreamUnavailable: () => new BffError(502, 'upstream_unavailable', 'Stytch is unavailable'),
  upstreamInvalidResponse: () => new BffError(502, 'upstream_invalid_response', 'Stytch sent an answer that could not be used'),
  notFound: () => new BffError(404, 'not_found', 'Not found'),
  /** a session id that is not one of the caller's live sessions (Stytch's own type for an unknown session) */
  sessionNotFound: () => new BffError(404, 'session_not_found', 'Session could not be found'),
  /** a route of the vertical this deployment does not mount */
  otherVertical: (path: string, routeVertical: string, configured: string) => new BffError(404, 'not_found',
    `Not found: ${path} is a ${routeVertical} route and this service runs with STYTCH_VERTICAL=${configured}; set STYTCH_VERTICAL=${routeVertical} to serve it`),
  methodNotAllowed: (allow: string[]) => new BffError(405, 'method_not_allowed', 'Method not allowed', { headers: { allow: allow.join(', ') } }),
  shuttingDown: () => new BffError(503, 'shutting_down', 'Server is shutting down'),
  internal: () => new BffError(500, 'internal_error', 'Internal error'),
  /** a failed password check, whether the account is unknown or the password wrong (HIDE_ACCOUNT_EXISTENCE) */
  unauthorizedCredentials: (stytchRequestId: string | undefined) =>
    new BffError(401, 'unauthorized_credentials', 'Unauthorized credentials.', stytchRequestId ? { stytchRequestId } : {}),
  /** a Stytch 4xx passed through with its status and error_type */
  stytch: (statusCode: number, errorType: string, message: string, stytchRequestId: string | undefined) =>
    new BffError(statusCode, errorType, message, stytchRequestId ? { stytchRequestId } : {})
}
