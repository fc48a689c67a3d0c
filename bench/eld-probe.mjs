// Preloaded into the service by the benchmark (node --import), never by production: once a second it
// appends the event-loop delay of the last second (perf_hooks monitorEventLoopDelay, ms beyond its
// 10 ms sampling interval) and the
// process RSS to the file named by BENCH_ELD_FILE. The service's own code is untouched.
import { appendFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const file = process.env.BENCH_ELD_FILE
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  // each sample is one timer interval: the delay is what exceeds the resolution
  const ms = (ns) => Math.max(0, Math.round(ns / 1e3) / 1e3 - 10)
  setInterval(() => {
    appendFileSync(file, JSON.stringify({
      t: Date.now(),
      p50: ms(histogram.percentile(50)),
      p99: ms(histogram.percentile(99)),
      max: ms(histogram.max),
      mean: ms(histogram.mean),
      rss: process.memoryUsage.rss()
    }) + '\n')
    histogram.reset()
  }, 1000).unref()
}
