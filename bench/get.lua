-- wrk script: GET one path and print machine-readable results (see bench/page_load.py).
--
--   wrk -t2 -c8 -d30s --latency -s bench/get.lua http://127.0.0.1:8124/indicators/satisfaction
--
-- Prints STATUS <code> <count>, SUMMARY … and LATENCY p50/p90/p99/p99.9/max lines, like
-- bench/submit.lua, so that the Python drivers parse both the same way.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + n
      end
   end
   for status, n in pairs(total) do
      io.write(string.format("STATUS %d %d\n", status, n))
   end
   local e = summary.errors
   io.write(string.format("SUMMARY requests=%d duration_us=%d connect_err=%d read_err=%d write_err=%d timeout=%d non2xx=%d\n",
                          summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status))
   for _, p in ipairs({50, 90, 99, 99.9}) do
      io.write(string.format("LATENCY p%s %.3f ms\n", tostring(p), latency:percentile(p) / 1000))
   end
   io.write(string.format("LATENCY max %.3f ms\n", latency.max / 1000))
end
