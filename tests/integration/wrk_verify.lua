-- wrk script: each response's status and whole body are compared with a
-- file's bytes, and each thread stops after its share of requests, leaving
-- a file named by its number in a directory, so that a run can be a number
-- of requests rather than a duration (wrk itself sleeps for its -d: whoever
-- sees every thread's file sends it SIGINT, and it reports at once).
--   wrk -t T -c C -d LIMIT -s wrk_verify.lua URL -- FILE REQUESTS_PER_THREAD DIR [STEP]
-- With STEP, each thread also writes its count so far to DIR/p<number>
-- every STEP answers. done() prints "verified N mismatched M".
local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("id", #threads)
end

function init(args)
	local f = assert(io.open(args[1], "rb"))
	expected = f:read("*a")
	f:close()
	limit = tonumber(args[2])
	marks = args[3]
	step = tonumber(args[4] or "0")
	good, bad = 0, 0
end

function response(status, headers, body)
	if status == 200 and body == expected then
		good = good + 1
	else
		bad = bad + 1
	end
	if step > 0 and (good + bad) % step == 0 then
		local f = assert(io.open(marks .. "/p" .. id, "w"))
		f:write(good + bad, "\n")
		f:close()
	end
	if good + bad == limit then
		assert(io.open(marks .. "/" .. id, "w")):close()
		wrk.thread:stop()
	end
end

function done(summary, latency, requests)
	local g, b = 0, 0
	for _, t in ipairs(threads) do
		g = g + t:get("good")
		b = b + t:get("bad")
	end
	io.write(string.format("verified %d mismatched %d\n", g, b))
end
