import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../src/config.js'

// The validated configuration (src/config.ts), registered first: every other plugin and route
// reads app.config and declares this plugin among its dependencies.

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
  }
}

export default fp(async function config (app: FastifyInstance, { config }: { config: Config }) {
  app.decorate('config', config)
}, { name: 'config', fastify: '5.x', dependencies: [] })
