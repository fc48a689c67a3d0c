import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'

// Child processes of the benchmark: pinned to a core with taskset when the machine has two or more
// cores and taskset exists, and all of them killed when the run ends, fails or is interrupted.

const children = new Set<ChildProcess>()

export const canPin = (() => {
  if (process.platform !== 'linux') return false
  const probe = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
  return probe.status === 0
})()

/** Pin this process and all its threads to a core (best effort). */
export function pinSelf (core: number): boolean {
  if (!canPin) return false
  return spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0
}

export interface Started { child: ChildProcess; pid: number }

export function start (command: string, args: string[], opts: { core?: number; env?: NodeJS.ProcessEnv; cwd: string }): Started {
  const pinned = canPin && opts.core !== undefined
  const child = pinned
    ? spawn('taskset', ['-c', String(opts.core), command, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  // taskset execs the command: the pid is the command's own
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  return { child, pid: child.pid }
}

/** The first line a child writes to stdout, parsed as JSON (bounded wait). */
export function firstJsonLine<T> (child: ChildProcess, what: string, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    let stderr = ''
    const timer = setTimeout(() => done(new Error(`${what}: no answer within ${timeoutMs} ms. ${stderr.slice(-2000)}`)), timeoutMs)
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8')
      const nl = buffered.indexOf('\n')
      if (nl < 0) return
      try { done(undefined, JSON.parse(buffered.slice(0, nl)) as T) } catch (err) { done(err as Error) }
    }
    const onErr = (chunk: Buffer) => { stderr += chunk.toString('utf8') }
    const onExit = (code: number | null) => done(new Error(`${what} exited with ${code} before answering. ${stderr.slice(-2000)}`))
    function done (err?: Error, value?: T): void {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.stderr?.off('data', onErr)
      child.off('exit', onExit)
      if (err) reject(err)
      else resolve(value as T)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onErr)
    child.once('exit', onExit)
  })
}

/** Everything a short-lived child printed, once it exits (killed after timeoutMs). */
export function collect (child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString('utf8') })
    child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString('utf8') })
    const timer = setTimeout(() => { stderr += `\n(killed after ${timeoutMs} ms)`; child.kill('SIGKILL') }, timeoutMs)
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

/** SIGTERM every child still running, then SIGKILL whatever is left after graceMs. */
export async function stopAll (graceMs = 3000): Promise<void> {
  const alive = [...children].filter((c) => c.exitCode === null && c.signalCode === null)
  await Promise.all(alive.map((child) => new Promise<void>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve() }, graceMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })))
}

/** Last resort on process exit: synchronous SIGKILL of every child. */
export function killAllNow (): void {
  for (const child of children) {
    try { child.kill('SIGKILL') } catch { /* already gone */ }
  }
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}
