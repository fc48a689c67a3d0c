import type { EmulatorContext } from './context.js'
import type { Body } from './fields.js'

/** One Stytch endpoint: the app wraps the result with `status_code: 200` and `request_id`. */
export interface EmulatorRoute {
  method: 'GET' | 'POST'
  path: string
  /** HTTP Basic project_id:secret required (default true). */
  auth?: boolean
  /** POST: the JSON body; GET: the query string's parameters (`params` holds the path's). */
  handle(ctx: EmulatorContext, body: Body, params: Record<string, string>): Promise<Record<string, unknown>> | Record<string, unknown>
}

export const post = (path: string, handle: EmulatorRoute['handle']): EmulatorRoute => ({ method: 'POST', path, handle })
export const get = (path: string, handle: EmulatorRoute['handle']): EmulatorRoute => ({ method: 'GET', path, handle })
