-- wrk script: kiosk ratings in batches to POST /api/v1/responses/batch (see bench/batch_load.py).
--
--   SUBMIT_DEVICES=/tmp/bench/devices.lua BATCH_SIZE=100 wrk -t2 -c4 -d30s --latency -s bench/batch.lua http://127.0.0.1:8123
--
-- Every request is one device's queue: BATCH_SIZE ratings (1-5, a service its unit offers, a
-- fresh UUIDv4 each) answered 5 s apart up to "now" (+07:00). Devices are taken in turn (each
-- wrk thread from its own offset), so that no device nears its limit of 600 ratings a minute.
-- Prints the lines of bench/submit.lua (STATUS, SUMMARY, LATENCY per request) and ITEMS <status>
-- <count> per rating; SUBMIT_IDS_OUT receives the id of every rating answered 201.

local devices = dofile(os.getenv("SUBMIT_DEVICES") or "/tmp/bench/devices.lua")
local size = tonumber(os.getenv("BATCH_SIZE") or "100")
local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_id", counter)
   table.insert(threads, thread)
end

function init(args)
   math.randomseed(os.time() * 1000 + thread_id * 7919 + math.floor(os.clock() * 1e6))
   statuses = {}
   items = {}
   created = {}
   next_device = (thread_id - 1) * math.floor(#devices / counter_total()) + 1
end

function counter_total()
   return tonumber(os.getenv("WRK_THREADS") or "2")
end

local hex = "0123456789abcdef"
local function uuid4()
   local out = {}
   for i = 1, 32 do
      local n = math.random(0, 15)
      if i == 13 then n = 4 end
      if i == 17 then n = 8 + (n % 4) end
      out[#out + 1] = string.sub(hex, n + 1, n + 1)
      if i == 8 or i == 12 or i == 16 or i == 20 then out[#out + 1] = "-" end
   end
   return table.concat(out)
end

function request()
   local d = devices[next_device]
   next_device = next_device % #devices + 1
   local now = os.time() + 7 * 3600
   local parts = {}
   for k = 1, size do
      local service = d.services[math.random(1, #d.services)]
      local answered_at = os.date("!%Y-%m-%dT%H:%M:%S", now - 5 * (size - k)) .. "+07:00"
      parts[k] = string.format(
         '{"client_id":"%s","instrument":"counter-quick","unit":"%s","service":"%s","channel":"kiosk",' ..
         '"answers":{"overall":%d},"reasons":[],"answered_at":"%s","duration_seconds":6}',
         uuid4(), d.unit, service, math.random(1, 5), answered_at)
   end
   return wrk.format("POST", "/api/v1/responses/batch",
                     {["Content-Type"] = "application/json", ["X-Device-Key"] = d.key},
                     '{"responses":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status == 200 then
      for result in string.gmatch(body, "{[^{}]*\"index\"[^{}]*}") do
         local item = tonumber(string.match(result, '"status":(%d+)'))
         if item then items[item] = (items[item] or 0) + 1 end
         if item == 201 then created[#created + 1] = string.match(result, '"id":(%d+)') end
      end
   end
end

function done(summary, latency, requests)
   local total, per_item = {}, {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + n end
      for status, n in pairs(thread:get("items")) do per_item[status] = (per_item[status] or 0) + n end
   end
   local ids_out = os.getenv("SUBMIT_IDS_OUT")
   if ids_out then
      local f = io.open(ids_out, "w")
      for _, thread in ipairs(threads) do f:write(table.concat(thread:get("created"), "\n"), "\n") end
      f:close()
   end
   for status, n in pairs(total) do io.write(string.format("STATUS %d %d\n", status, n)) end
   for status, n in pairs(per_item) do io.write(string.format("ITEMS %d %d\n", status, n)) end
   local e = summary.errors
   io.write(string.format("SUMMARY requests=%d duration_us=%d connect_err=%d read_err=%d write_err=%d timeout=%d non2xx=%d\n",
                          summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status))
   for _, p in ipairs({50, 90, 99, 99.9}) do
      io.write(string.format("LATENCY p%s %.3f ms\n", tostring(p), latency:percentile(p) / 1000))
   end
   io.write(string.format("LATENCY max %.3f ms\n", latency.max / 1000))
end
