-- wrk script for bench/load.py: one kind of request per wrk process, at a paced rate.
--
--   LOAD_KIND=submit LOAD_DATA=/tmp/bench/load/data.lua LOAD_PERIOD_MS=1000 \
--     wrk -t1 -c20 -d600s --latency -s bench/mixed.lua http://127.0.0.1:8125
--
-- LOAD_KIND:
--   submit  POST /api/v1/responses as a counter kiosk; LOAD_RETRY_SHARE (default 0.05) of the
--           requests resend an earlier body with the same client_id (a kiosk that lost the answer;
--           the server answers 200 with the stored id, new ones get 201)
--   page    GET a public page: home, an indicator, a unit page or a unit search, in Vietnamese
--           or (LOAD_ENGLISH_SHARE, default 0.2) English
--   api     GET /api/v1/estimates (by indicator, by unit), /api/v1/units, /api/v1/indicators
-- Each connection waits an exponentially distributed time with mean LOAD_PERIOD_MS between
-- its requests (the next one is sent that long after the previous answer), so the offered
-- rate is about connections × 1000 / (LOAD_PERIOD_MS + latency) per second.
-- LOAD_DATA is written by `bench/load.py setup` (devices, units, indicators, periods).

local data = dofile(os.getenv("LOAD_DATA") or "/tmp/bench/load/data.lua")
local kind = os.getenv("LOAD_KIND") or "page"
local period_ms = tonumber(os.getenv("LOAD_PERIOD_MS") or "1000")
local retry_share = tonumber(os.getenv("LOAD_RETRY_SHARE") or "0.05")
local english_share = tonumber(os.getenv("LOAD_ENGLISH_SHARE") or "0.2")
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
   retries = 0
   sent = {}         -- recent submission bodies and their device keys, for retries
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

local function pick(list)
   return list[math.random(1, #list)]
end

-- Capped below gunicorn's keepalive (5 s): a longer pause would let the server close the idle
-- connection and wrk would count a read error that no real client sees.
function delay()
   return math.min(math.floor(-math.log(1 - math.random()) * period_ms), 4000)
end

local function submission()
   if #sent > 0 and math.random() < retry_share then
      local old = pick(sent)
      retries = retries + 1
      return wrk.format("POST", "/api/v1/responses",
                        {["Content-Type"] = "application/json", ["X-Device-Key"] = old.key}, old.body)
   end
   local d = pick(data.devices)
   local answered_at = os.date("!%Y-%m-%dT%H:%M:%S", os.time() + 7 * 3600) .. "+07:00"
   local body = string.format(
      '{"client_id":"%s","instrument":"counter-quick","unit":"%s","service":"%s","channel":"kiosk",' ..
      '"answers":{"overall":%d},"reasons":[],"answered_at":"%s","duration_seconds":6}',
      uuid4(), d.unit, pick(d.services), math.random(1, 3), answered_at)
   if #sent < 200 then
      sent[#sent + 1] = {key = d.key, body = body}
   else
      sent[math.random(1, 200)] = {key = d.key, body = body}
   end
   return wrk.format("POST", "/api/v1/responses",
                     {["Content-Type"] = "application/json", ["X-Device-Key"] = d.key}, body)
end

local function page()
   local headers = {}
   if math.random() < english_share then headers["Accept-Language"] = "en" end
   local r = math.random()
   local path
   if r < 0.2 then
      path = "/"
   elseif r < 0.5 then
      path = "/indicators/" .. pick(data.indicators)
   elseif r < 0.9 then
      path = "/units/" .. pick(data.units)
   else
      path = "/units?q=" .. pick(data.searches)
   end
   return wrk.format("GET", path, headers)
end

local function api()
   local r = math.random()
   local path
   if r < 0.4 then
      path = "/api/v1/estimates?indicator=" .. pick(data.indicators) .. "&period=" .. pick(data.periods)
   elseif r < 0.8 then
      path = "/api/v1/estimates?unit=" .. pick(data.units) .. "&period=" .. pick(data.periods)
   elseif r < 0.9 then
      path = "/api/v1/units"
   else
      path = "/api/v1/indicators"
   end
   return wrk.format("GET", path)
end

function request()
   if kind == "submit" then return submission() end
   if kind == "api" then return api() end
   return page()
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   local all_retries = 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + n
      end
      all_retries = all_retries + thread:get("retries")
   end
   for status, n in pairs(total) do
      io.write(string.format("STATUS %d %d\n", status, n))
   end
   io.write(string.format("RETRIES %d\n", all_retries))
   local e = summary.errors
   io.write(string.format("SUMMARY requests=%d duration_us=%d connect_err=%d read_err=%d write_err=%d timeout=%d non2xx=%d\n",
                          summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status))
   for _, p in ipairs({50, 90, 99, 99.9}) do
      io.write(string.format("LATENCY p%s %.3f ms\n", tostring(p), latency:percentile(p) / 1000))
   end
   io.write(string.format("LATENCY max %.3f ms\n", latency.max / 1000))
end
