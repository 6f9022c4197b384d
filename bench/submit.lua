-- wrk script: POST review submissions, each a different (business, author) pair.
-- bench/.work/sessions.lua defines SESSIONS (cookie, csrf per logged-in spare user) and SLUGS.
-- Thread t uses the sessions t, t+T, t+2T...; request n of a thread goes to user n mod k and
-- business floor(n / k), so no pair repeats (a repeat would be a 422 conflict).
dofile(os.getenv("BENCH_SESSIONS"))

local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", counter - 1)
  counter = counter + 1
  table.insert(threads, thread)
end

local STARS = {5, 4, 5, 2, 4, 1, 5, 3, 4, 5}

function init(args)
  T = tonumber(os.getenv("BENCH_THREADS"))
  mine = {}
  for i = tid + 1, #SESSIONS, T do table.insert(mine, SESSIONS[i]) end
  n = 0
  codes = {}
end

function request()
  local k = #mine
  local s = mine[(n % k) + 1]
  local slug = SLUGS[(math.floor(n / k) % #SLUGS) + 1]
  local stars = STARS[(n % #STARS) + 1]
  n = n + 1
  local body = "csrf_token=" .. s.csrf .. "&stars=" .. stars ..
    "&title=Bench+review&body=Benchmark+submission+text%2C+a+short+honest+review."
  return wrk.format("POST", "/b/" .. slug .. "/review",
    {["Cookie"] = s.cookie, ["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
