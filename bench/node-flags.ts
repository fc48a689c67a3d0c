import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The node flags `npm start` runs the service with (`node <flags> dist/src/server.js` in
 * package.json). The benchmark starts the service with them; a repository test keeps the
 * Dockerfile's CMD equal to them.
 */
export function startScriptNodeFlags (root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
  const match = /\bnode((?:\s+--[a-z-]+=\S+)*)\s+dist\/src\/server\.js/.exec(pkg.scripts?.start ?? '')
  if (!match) throw new Error('package.json: the start script does not run node dist/src/server.js')
  return (match[1] ?? '').trim().split(/\s+/).filter(Boolean)
}
