import type { FastifyServerOptions } from 'fastify'
import type { Config } from './config.js'

// pino options: JSON logs, request lines without query strings, and redaction of anything that
// could carry a password, token, cookie or the Stytch secret.

export const REDACT_PATHS = [
  'req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]',
  'password', 'new_password', 'existing_password', 'session_token', 'session_jwt', 'intermediate_session_token',
  '*.password', '*.new_password', '*.existing_password', '*.session_token', '*.session_jwt', '*.intermediate_session_token',
  '*.cookie', '*.authorization', '*.secret', 'secret'
]

export function loggerOptions (config: Config): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: {
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        method: req.method,
        url: req.url.split('?', 1)[0],
        id: req.id,
        ip: req.ip
      })
    }
  }
}
