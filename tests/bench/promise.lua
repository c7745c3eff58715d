-- wrk script for the promise benchmark (scripts/bench_promise.sh): GET
-- /v1/promise for a customer at a random station point with 1-3 random
-- SKUs (the stock hints are warmed first, so no request reads PostgreSQL).
-- The same script drives the HTTP floor (dispatch-http-floor), so both runs
-- build their requests alike; NAME, "promise" by default, names the figures.
--   wrk -s tests/bench/promise.lua URL -- POINTS_FILE SKUS_FILE [NAME]
-- At the end prints one figure a line: NAME_req_per_s (200s only),
-- NAME_p99_ms, NAME_non_200, NAME_socket_errors.

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
	name = args[3] or "promise"
	math.randomseed(os.time() * 1000 + id)
	ok, other = 0, 0
	-- The order service's token (scripts/bench_lib.sh); the floor gets it too,
	-- so both runs send the same bytes.
	auth = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
end

function request()
	local p = points[math.random(#points)]
	local parts = {}
	for _ = 1, math.random(3) do
		table.insert(parts, "sku=" .. skus[math.random(#skus)] .. ":" .. math.random(2))
	end
	return wrk.format("GET", string.format("/v1/promise?lat=%s&lon=%s&%s", p[1], p[2],
		table.concat(parts, "&")), {["Authorization"] = auth})
end

function response(status, headers, body)
	if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
	local ok_total, other_total = 0, 0
	for _, t in ipairs(threads) do
		ok_total = ok_total + t:get("ok")
		other_total = other_total + t:get("other")
	end
	-- init ran in the threads only: the name comes from one of them.
	local name = threads[1]:get("name")
	local secs = summary.duration / 1e6
	io.write(string.format("%s_req_per_s=%d\n%s_p99_ms=%.2f\n", name, ok_total / secs,
		name, latency:percentile(99) / 1000))
	io.write(string.format("%s_non_200=%d\n%s_socket_errors=%d\n", name, other_total, name,
		summary.errors.connect + summary.errors.read + summary.errors.write +
		summary.errors.timeout))
end
