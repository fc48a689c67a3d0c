import { readFileSync } from 'node:fs'

// Linux /proc readers: CPU time of a process (all its threads), per-core busy time, resident memory.
// Everything is in microseconds or bytes. On a system without /proc the readers return undefined
// and the harness prints "n/a" instead of CPU figures.

// USER_HZ is 100 on every Linux architecture Node supports.
const TICK_US = 1_000_000 / 100

/** utime + stime of a process, all threads, in µs. */
export function processCpuUs (pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may contain spaces: count fields after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * TICK_US : undefined
  } catch {
    return undefined
  }
}

/** CPU time of this process's children that have exited and been waited for (cutime + cstime), in µs. */
export function childrenCpuUs (): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[13]) + Number(fields[14])) * TICK_US
  } catch {
    return 0
  }
}

/** VmRSS of a process in bytes. */
export function processRssBytes (pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

export interface CoreTimes { busyUs: number; totalUs: number }

/** Busy and total time of every core (cpu0, cpu1, ...), from /proc/stat. */
export function coreTimes (): CoreTimes[] | undefined {
  try {
    const cores: CoreTimes[] = []
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      if (!/^cpu\d+ /.test(line)) continue
      const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.split(/\s+/).slice(1).map(Number)
      const busy = user + nice + system + irq + softirq + steal
      cores.push({ busyUs: busy * TICK_US, totalUs: (busy + idle + iowait) * TICK_US })
    }
    return cores.length > 0 ? cores : undefined
  } catch {
    return undefined
  }
}

/** A point-in-time reading of the processes we run and of the cores. */
export interface Snapshot { atMs: number; cpuUs: Record<string, number | undefined>; cores: CoreTimes[] | undefined }

export function snapshot (pids: Record<string, number>): Snapshot {
  const cpuUs: Record<string, number | undefined> = {}
  for (const [name, pid] of Object.entries(pids)) cpuUs[name] = processCpuUs(pid)
  return { atMs: performance.now(), cpuUs, cores: coreTimes() }
}

export interface Usage {
  seconds: number
  /** CPU µs used by each named process between the two snapshots */
  cpuUs: Record<string, number | undefined>
  /** busy share of each core, 0..1 */
  coreBusy: number[] | undefined
  /** CPU used by processes that are not ours, in cores (0.1 = 10% of one core) */
  foreignCores: number | undefined
}

export function usageBetween (a: Snapshot, b: Snapshot): Usage {
  const seconds = (b.atMs - a.atMs) / 1000
  const cpuUs: Record<string, number | undefined> = {}
  let ours = 0
  let oursKnown = true
  for (const name of Object.keys(b.cpuUs)) {
    const before = a.cpuUs[name]
    const after = b.cpuUs[name]
    const used = before === undefined || after === undefined ? undefined : after - before
    cpuUs[name] = used
    if (used === undefined) oursKnown = false
    else ours += used
  }
  let coreBusy: number[] | undefined
  let foreignCores: number | undefined
  if (a.cores && b.cores && a.cores.length === b.cores.length) {
    coreBusy = b.cores.map((core, i) => {
      const prev = a.cores?.[i] ?? core
      const total = core.totalUs - prev.totalUs
      return total > 0 ? (core.busyUs - prev.busyUs) / total : 0
    })
    const busyUs = b.cores.reduce((sum, core, i) => sum + core.busyUs - (a.cores?.[i]?.busyUs ?? core.busyUs), 0)
    if (oursKnown && seconds > 0) foreignCores = Math.max(0, (busyUs - ours) / 1e6 / seconds)
  }
  return { seconds, cpuUs, coreBusy, foreignCores }
}
