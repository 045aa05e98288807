-- create.lua — wrk script: POST /customers with a unique username per request.
-- Each wrk thread gets an id in setup(); usernames are "b<run>-<thread>-<n>".
local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   run = args[1] or tostring(os.time())
   n = 0
end

function request()
   n = n + 1
   local body = string.format(
      '{"username":"b%s-%d-%d","firstName":"Bench","lastName":"Mark O\'Neil"}', run, tid, n)
   return wrk.format("POST", "/customers", {["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
   local non2xx = summary.errors.status
   io.write(string.format("BENCH requests=%d duration_us=%d non2xx=%d connect_err=%d read_err=%d timeouts=%d\n",
      summary.requests, summary.duration, non2xx, summary.errors.connect, summary.errors.read,
      summary.errors.timeout))
   io.write(string.format("BENCH p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
