/** A Stytch API error: rendered by the app's error handler in Stytch's error shape. */
export class StytchApiError extends Error {
  constructor (
    readonly statusCode: number,
    readonly errorType: string,
    message: string
  ) {
    super(message)
    this.name = 'StytchApiError'
  }
}

export function fail (statusCode: number, errorType: string, message: string): never {
  throw new StytchApiError(statusCode, errorType, message)
}

/** The error types the emulator uses, with the status Stytch answers them with. */
type Thrower = (message?: string) => never

export const errors: {
  unauthorized: Thrower
  badRequest: (message: string) => never
  sessionNotFound: Thrower
  istNotFound: Thrower
  memberNotFound: Thrower
  organizationNotFound: Thrower
  emailNotFound: Thrower
  userNotFound: Thrower
  weakPassword: Thrower
} = {
  unauthorized: () => fail(401, 'unauthorized_credentials', 'Unauthorized credentials.'),
  badRequest: (message: string) => fail(400, 'bad_request', message),
  sessionNotFound: () => fail(404, 'session_not_found', 'Session could not be found.'),
  istNotFound: () =>
    fail(404, 'intermediate_session_not_found', 'Intermediate session could not be found or has expired.'),
  memberNotFound: () => fail(404, 'member_not_found', 'Member could not be found.'),
  organizationNotFound: () => fail(404, 'organization_not_found', 'Organization could not be found.'),
  emailNotFound: () => fail(404, 'email_not_found', 'Email could not be found.'),
  userNotFound: () => fail(404, 'user_not_found', 'User could not be found.'),
  weakPassword: () =>
    fail(400, 'weak_password', 'Password does not meet the strength requirements, or appears in a breach.')
}
