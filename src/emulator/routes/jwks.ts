import { fail } from '../errors.js'
import type { EmulatorRoute } from '../route.js'

/** JWKS: no authentication needed, every key (current and rotated-out) served. */
const jwks: EmulatorRoute['handle'] = (ctx, _body, params) => {
  if (params.project_id !== ctx.projectId) fail(404, 'project_not_found', 'No project with this project_id.')
  return { keys: ctx.keys.jwks() }
}

export const jwksRoutes: EmulatorRoute[] = [
  { method: 'GET', path: '/v1/sessions/jwks/:project_id', auth: false, handle: jwks },
  { method: 'GET', path: '/v1/b2b/sessions/jwks/:project_id', auth: false, handle: jwks }
]
