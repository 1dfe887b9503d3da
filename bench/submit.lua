-- wrk script: kiosk submissions to POST /api/v1/responses (see bench/README.md).
--
--   SUBMIT_DEVICES=/tmp/bench/devices.lua wrk -t2 -c32 -d30s --latency -s bench/submit.lua http://127.0.0.1:8123
--
-- Every request picks a registered device at random, one service its unit offers, a rating
-- 1-3 and a fresh random UUIDv4 client_id; answered_at is "now" in Vietnam time (+07:00).
-- The devices file is written by `bench/submit_load.py setup` and looks like
--   return { {key="…", unit="sl-ttpvhcc", services={"land", …}}, … }

local devices = dofile(os.getenv("SUBMIT_DEVICES") or "/tmp/bench/devices.lua")
local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_id", counter)
   table.insert(threads, thread)
end

function init(args)
   -- Distinct seeds per thread, or two threads would send the same UUIDs.
   math.randomseed(os.time() * 1000 + thread_id * 7919 + math.floor(os.clock() * 1e6))
   statuses = {}
   created = {}
end

local hex = "0123456789abcdef"
local function nibble(n)
   return string.sub(hex, n + 1, n + 1)
end

local function uuid4()
   local out = {}
   for i = 1, 32 do
      local n = math.random(0, 15)
      if i == 13 then n = 4 end                     -- version 4
      if i == 17 then n = 8 + (n % 4) end           -- RFC 4122 variant
      out[#out + 1] = nibble(n)
      if i == 8 or i == 12 or i == 16 or i == 20 then out[#out + 1] = "-" end
   end
   return table.concat(out)
end

function request()
   local d = devices[math.random(1, #devices)]
   local service = d.services[math.random(1, #d.services)]
   local answered_at = os.date("!%Y-%m-%dT%H:%M:%S", os.time() + 7 * 3600) .. "+07:00"
   local body = string.format(
      '{"client_id":"%s","instrument":"counter-quick","unit":"%s","service":"%s","channel":"kiosk",' ..
      '"answers":{"overall":%d},"reasons":[],"answered_at":"%s","duration_seconds":6}',
      uuid4(), d.unit, service, math.random(1, 3), answered_at)
   return wrk.format("POST", "/api/v1/responses",
                     {["Content-Type"] = "application/json", ["X-Device-Key"] = d.key}, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 201 then
      -- The stored id, to check afterwards that every 201 is exactly one row.
      local id = string.match(body, '"id":%s*(%d+)')
      if id then created[#created + 1] = id end
   end
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for status, n in pairs(counts) do
         total[status] = (total[status] or 0) + n
      end
   end
   local ids_out = os.getenv("SUBMIT_IDS_OUT")
   if ids_out then
      local f = io.open(ids_out, "w")
      for _, thread in ipairs(threads) do
         local ids = thread:get("created")
         f:write(table.concat(ids, "\n"), "\n")
      end
      f:close()
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
