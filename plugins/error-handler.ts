import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { BffError, errors, type Issue } from '../src/errors.js'
import { ENDPOINTS } from '../src/stytch/endpoints.js'

// The one renderer of the error envelope (docs/contract.md, Errors). Everything thrown anywhere ends here;
// nothing internal (stack, class name, Stytch's raw body) ever reaches the client.

const HTTP_METHODS = ['GET', 'POST'] as const

export default fp(async function errorHandler (app: FastifyInstance) {
  const { config } = app
  // the routes of the vertical that is not mounted: their 404 says which setting mounts them
  const otherVertical = new Map(ENDPOINTS.filter((e) => e.vertical !== config.vertical).map((e) => [`${config.prefix}${e.path}`, e.vertical]))

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const error = toBffError(err)
    if (error.statusCode >= 500 && !(err instanceof BffError)) {
      request.log.error({ err }, 'unhandled error')
    }
    return send(request, reply, error)
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/'
    const allow = HTTP_METHODS.filter((method) => method !== request.method && app.hasRoute({ method, url: path }))
    if (allow.length > 0) return send(request, reply, errors.methodNotAllowed(allow))
    const vertical = otherVertical.get(path)
    return send(request, reply, vertical === undefined ? errors.notFound() : errors.otherVertical(path, vertical, config.vertical))
  })
}, { name: 'error-handler', fastify: '5.x', dependencies: ['config'] })

function send (request: FastifyRequest, reply: FastifyReply, error: BffError) {
  if (error.headers) reply.headers(error.headers)
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send({
    status_code: error.statusCode,
    error_type: error.errorType,
    error_message: error.message,
    request_id: request.id,
    ...(error.stytchRequestId ? { stytch_request_id: error.stytchRequestId } : {}),
    ...(error.issues ? { issues: error.issues } : {}),
    ...(error.intermediateSession ? { intermediate_session: error.intermediateSession } : {})
  })
}

function toBffError (err: FastifyError): BffError {
  if (err instanceof BffError) return err
  if (err.validation) {
    const issues: Issue[] = err.validation.map((v) => ({ path: v.instancePath || '/', message: v.message ?? 'invalid' }))
    return errors.invalidRequest('Request body does not match the schema', issues)
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.statusCode === 415 ? errors.unsupportedMediaType() : errors.invalidRequest('Invalid Content-Length')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge()
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidRequest('Body must be a JSON object')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidRequest('Body is not valid JSON')
  }
  if (err.statusCode === 429) return errors.rateLimited(60)
  // JSON.parse failures and prototype poisoning reach us as SyntaxError/400 from the parser.
  if (err instanceof SyntaxError || err.statusCode === 400) return errors.invalidRequest('Body is not valid JSON')
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return errors.invalidRequest('Bad request')
  return errors.internal()
}
