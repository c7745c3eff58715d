-- wrk script for the intake benchmark (scripts/bench_intake.sh): POST
-- /v1/orders with a distinct Idempotency-Key and external id per request,
-- a customer at a random station point and 1-3 random SKUs.
--   wrk -s tests/bench/intake.lua URL -- POINTS_FILE SKUS_FILE
-- POINTS_FILE: "lat lon" per line; SKUS_FILE: one SKU per line.
-- At the end prints one figure a line: intake_requests, intake_created,
-- intake_other_status, intake_socket_errors, intake_orders_per_s (201s
-- only), intake_p99_ms.

local threads = {}

function setup(thread)
	thread:set("id", #threads + 1)
	table.insert(threads, thread)
end

local function lines_of(path)
	local out = {}
	for line in io.lines(path) do
		if line ~= "" then table.insert(out, line) end
	end
	return out
end

function init(args)
	points, skus = {}, lines_of(args[2])
	for _, l in ipairs(lines_of(args[1])) do
		local lat, lon = l:match("^(%S+)%s+(%S+)$")
		table.insert(points, {lat, lon})
	end
	math.randomseed(os.time() * 1000 + id)
	prefix = string.format("b%x-%d-", os.time(), id)
	seq, created, other = 0, 0, 0
	auth = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
	wrk.method = "POST"
end

function request()
	seq = seq + 1
	local key = prefix .. seq
	local p = points[math.random(#points)]
	local n, used, parts = math.random(3), {}, {}
	for _ = 1, n do
		local s = skus[math.random(#skus)]
		if not used[s] then
			used[s] = true
			table.insert(parts, string.format('{"sku":"%s","qty":%d}', s, math.random(2)))
		end
	end
	local body = string.format('{"external_id":"%s","customer":{"lat":%s,"lon":%s},' ..
		'"lines":[%s],"delivery_option":"standard"}', key, p[1], p[2], table.concat(parts, ","))
	return wrk.format(nil, "/v1/orders", {["Content-Type"] = "application/json",
		["Idempotency-Key"] = key, ["Authorization"] = auth}, body)
end

function response(status, headers, body)
	if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
	local ok, bad = 0, 0
	for _, t in ipairs(threads) do
		ok = ok + t:get("created")
		bad = bad + t:get("other")
	end
	local secs = summary.duration / 1e6
	io.write(string.format("intake_requests=%d\nintake_created=%d\nintake_other_status=%d\n" ..
		"intake_socket_errors=%d\n", summary.requests, ok, bad,
		summary.errors.connect + summary.errors.read + summary.errors.write +
		summary.errors.timeout))
	io.write(string.format("intake_orders_per_s=%.0f\nintake_p99_ms=%.1f\n", ok / secs,
		latency:percentile(99) / 1000))
end
