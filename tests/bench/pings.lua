-- wrk script for the pings benchmark (scripts/bench_pings.sh): POST
-- /v1/couriers/me/locations with batches of 10 pings, each request as the
-- next courier of TOKENS_FILE (one courier token a line), each courier's
-- device time moving forward 1 s a ping, positions wandering around
-- Beijing.
--   wrk -s tests/bench/pings.lua URL -- TOKENS_FILE
-- At the end prints one figure a line: pings_requests, pings_accepted
-- (pings of 202 answers), pings_non_202, pings_socket_errors, pings_per_s
-- (accepted pings per second), pings_p99_ms (per request).

local threads = {}

function setup(thread)
	thread:set("id", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	tokens = {}
	for line in io.lines(args[1]) do
		if line ~= "" then table.insert(tokens, "Bearer " .. line) end
	end
	math.randomseed(os.time() * 1000 + id)
	-- Each thread starts its couriers at its own hour, so two threads never
	-- send one courier the same device time.
	base = os.time() - 86400 + id * 3600
	seq, accepted, other = 0, 0, 0
	wrk.method = "POST"
end

function request()
	seq = seq + 1
	local who = (seq - 1) % #tokens + 1
	local round = math.floor((seq - 1) / #tokens)
	local parts = {}
	for i = 0, 9 do
		local t = base + round * 10 + i
		table.insert(parts, string.format(
			'{"at":"%s.%03dZ","lon":%.6f,"lat":%.6f,"accuracy_m":%.1f,"speed":%.1f}',
			os.date("!%Y-%m-%dT%H:%M:%S", t), math.random(0, 999),
			116.3 + math.random() * 0.2, 39.85 + math.random() * 0.15,
			3 + math.random() * 20, math.random() * 8))
	end
	return wrk.format(nil, "/v1/couriers/me/locations", {["Content-Type"] = "application/json",
		["Authorization"] = tokens[who]}, '{"pings":[' .. table.concat(parts, ",") .. ']}')
end

function response(status, headers, body)
	if status == 202 then accepted = accepted + 10 else other = other + 1 end
end

function done(summary, latency, requests)
	local ok, bad = 0, 0
	for _, t in ipairs(threads) do
		ok = ok + t:get("accepted")
		bad = bad + t:get("other")
	end
	local secs = summary.duration / 1e6
	io.write(string.format("pings_requests=%d\npings_accepted=%d\npings_non_202=%d\n" ..
		"pings_socket_errors=%d\n", summary.requests, ok, bad,
		summary.errors.connect + summary.errors.read + summary.errors.write +
		summary.errors.timeout))
	io.write(string.format("pings_per_s=%.0f\npings_p99_ms=%.1f\n", ok / secs,
		latency:percentile(99) / 1000))
end
