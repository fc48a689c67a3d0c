import type { FastifyInstance } from 'fastify'

// Turning a failed listen() into the one line a person needs: which address, why, and which
// variable moves it. server.ts and emulator/main.ts print it and exit 1, without a stack.

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'the address is not available on this machine'
}

export interface ListenTarget {
  /** who is listening, e.g. "stytch-bff" or "Stytch emulator" */
  what: string
  host: string
  port: number
  /** the environment variable that sets the port */
  portVariable: string
  /** the environment variable that sets the host, when there is one */
  hostVariable?: string
}

/** One line (no newline) describing why `target` could not listen, or undefined when `err` is not a listen failure. */
export function listenFailure (err: unknown, target: ListenTarget): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  const syscall = (err as { syscall?: unknown } | null)?.syscall
  if (typeof code !== 'string' || (syscall !== 'listen' && syscall !== 'bind' && !(code in REASONS))) return undefined
  const reason = REASONS[code] ?? code
  const fix = code === 'EADDRNOTAVAIL' && target.hostVariable !== undefined
    ? `set ${target.hostVariable} to an address of this machine`
    : `set ${target.portVariable} to a free port${target.portVariable === 'EMULATOR_PORT' ? ' (0 picks one)' : ''}`
  return `${target.what}: cannot listen on ${target.host}:${target.port}: ${reason}; ${fix}`
}

/** listen, or print why not in one line and exit 1 */
export async function listenOrExit (server: FastifyInstance, target: ListenTarget): Promise<string> {
  const exitOn = (err: unknown): void => {
    const line = listenFailure(err, target)
    if (line === undefined) return
    process.stderr.write(line + '\n')
    process.exit(1)
  }
  // on the socket server itself too: its 'error' event can outrun the rejected promise
  server.server.once('error', exitOn)
  try {
    const address = await server.listen({ host: target.host, port: target.port })
    server.server.removeListener('error', exitOn)
    return address
  } catch (err) {
    exitOn(err)
    throw err
  }
}
