-- wrk script: group membership churn as Entra sends it, one member per PATCH.
-- args: basepath token group_id extras.tsv nthreads
-- Run with -tT -cT (one connection per thread) so each thread strictly alternates
--   add    {"op":"add","path":"members","value":[{"value":ID}]}
--   remove {"op":"remove","path":"members[value eq \"ID\"]"}
-- over its own slice of extras.tsv ("name<TAB>id" of users that are not in the group), so
-- every request changes the membership (no no-op PATCH) and the group size stays constant ±T.
-- Also mode "fixed" (args: path): GET path, for the bare ceiling.
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  base, token = args[1], args[2]
  if args[3] == "fixed" then
    fixed = args[4]
    return
  end
  group, file, nth = args[3], args[4], tonumber(args[5])
  ids = {}
  local i = 0
  for line in io.lines(file) do
    local id = line:match("^[^\t]+\t(.+)$")
    if id then
      i = i + 1
      if i % nth == tid - 1 then ids[#ids + 1] = id end
    end
  end
  hdr = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json" }
  seq = 0
end

local P = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":['
function request()
  if fixed then
    return wrk.format("GET", fixed, { ["Authorization"] = "Bearer " .. token })
  end
  -- wrk's unsent verification call comes first on thread 1: keep the alternation aligned.
  if not primed then primed = true; return wrk.format("GET", base .. "/ServiceProviderConfig", hdr) end
  local k = math.floor(seq / 2) % #ids + 1
  local id = ids[k]
  local body
  if seq % 2 == 0 then
    body = P .. '{"op":"add","path":"members","value":[{"value":"' .. id .. '"}]}]}'
  else
    body = P .. '{"op":"remove","path":"members[value eq \\"' .. id .. '\\"]"}]}'
  end
  seq = seq + 1
  return wrk.format("PATCH", base .. "/Groups/" .. group, hdr, body)
end

local checked = false
function response(status, headers, body)
  if checked or not status or status == 200 and body and body:find("ServiceProviderConfig", 1, true) then return end
  checked = true
  if status >= 300 then
    io.stderr:write("member: first answer ", status, ": ", (body or ""):sub(1, 200), "\n")
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT - %d %.2f %.1f %.3f %.3f %.3f %d %d\n", summary.requests, secs,
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
