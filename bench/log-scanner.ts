import type { ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'

// Reads the service's stdout (its pino log, as a container runtime would) while the benchmark runs:
// counts lines and request lines, keeps a few sample request lines and every warn/error line (up
// to a limit), and looks for secrets that must never be logged: the password sent, the Stytch
// secret, a session token, any JWT. Cheap on purpose: it shares a core with the load generator.

const KEEP = 20

export interface LogSummary {
  lines: number
  bytes: number
  /** lines with a responseTime: Fastify's "request completed" or an equivalent one-line request log */
  requestLines: number
  samples: string[]
  warnings: string[]
  /** needle label -> occurrences; must stay empty */
  leaks: Record<string, number>
  stderrTail: string
}

export class LogScanner {
  private lines = 0
  private bytes = 0
  private requestLines = 0
  private readonly samples: string[] = []
  private readonly warnings: string[] = []
  private readonly leaks: Record<string, number> = {}
  private carry = ''
  private stderr = ''

  private readonly copy: WriteStream | undefined

  /** copyTo: also write everything the service printed to this file (debugging) */
  constructor (child: ChildProcess, private readonly needles: string[], copyTo?: string) {
    this.copy = copyTo ? createWriteStream(copyTo) : undefined
    child.stdout?.on('data', (chunk: Buffer) => { this.scan(chunk); this.copy?.write(chunk) })
    child.stderr?.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000) })
  }

  counts (): { lines: number; requestLines: number } {
    return { lines: this.lines, requestLines: this.requestLines }
  }

  stderrTail (): string {
    return this.stderr
  }

  summary (): LogSummary {
    return { lines: this.lines, bytes: this.bytes, requestLines: this.requestLines, samples: this.samples, warnings: this.warnings, leaks: this.leaks, stderrTail: this.stderr }
  }

  private scan (chunk: Buffer): void {
    this.bytes += chunk.length
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) this.lines++
    const text = chunk.toString('latin1')
    // a needle may straddle two chunks: search the tail of the previous chunk too
    const haystack = this.carry + text
    for (const needle of this.needles) {
      for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
        if (i + needle.length <= this.carry.length) continue // already counted in the previous chunk
        const label = needle.length > 12 ? `${needle.slice(0, 6)}…` : '(short needle)'
        this.leaks[label] = (this.leaks[label] ?? 0) + 1
      }
    }
    this.carry = text.slice(-256)
    for (let i = text.indexOf('"responseTime"'); i >= 0; i = text.indexOf('"responseTime"', i + 1)) {
      this.requestLines++
      if (this.samples.length < 3) this.keep(this.samples, text, i)
    }
    if (this.samples.length < 4) {
      const incoming = text.indexOf('"incoming request"')
      if (incoming >= 0) this.keep(this.samples, text, incoming)
    }
    if (this.warnings.length < KEEP) {
      for (const level of ['"level":40', '"level":50', '"level":60']) {
        for (let i = text.indexOf(level); i >= 0 && this.warnings.length < KEEP; i = text.indexOf(level, i + 1)) this.keep(this.warnings, text, i)
      }
    }
  }

  private keep (into: string[], text: string, at: number): void {
    const from = text.lastIndexOf('\n', at) + 1
    const to = text.indexOf('\n', at)
    into.push(text.slice(from, to < 0 ? undefined : to).slice(0, 800))
  }
}
