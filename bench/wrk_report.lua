-- wrk report for bench/run.py: one line, "WRK_JSON {...}", after the run.
-- Latencies are in microseconds. wrk counts a response with status > 399 in
-- errors.status, so 2xx and 3xx (a 304 from revalidation, a 301) are not errors.
-- No response() callback on purpose: it would slow wrk down on the fast runs
-- (the static-nginx ceiling) and skew the ratios.

done = function(summary, latency, requests)
  local e = summary.errors
  local p = function(q) return latency:percentile(q) end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "stdev": %.1f, "max": %d, ' ..
    '"p50": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    p(50), p(90), p(99), p(99.9)))
end
