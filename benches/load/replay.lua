-- wrk script: send a fixed list of requests once, in order, over this thread's connections
-- (run with -t1; -cK gives K requests in flight), then stop. Used for the Entra-style initial
-- sync, group creation and group filling.
-- args: basepath token reqfile outdir tag
--   reqfile: one request a line, "METHOD<TAB>PATH<TAB>BODY" (PATH below basepath; BODY may be empty)
--   outdir/tag.tsv: "name<TAB>id" of every resource a POST created (name = userName or displayName)
--   outdir/tag.done: "answered created non2xx" once every request is answered (run.sh waits for it)
-- Filler requests (wrk's unsent verification call, and after the list) are GET /ServiceProviderConfig.
function init(args)
  base, token, reqfile, outdir, tag = args[1], args[2], args[3], args[4], args[5]
  reqs = {}
  for line in io.lines(reqfile) do
    local m, p, b = line:match("^([^\t]+)\t([^\t]+)\t?(.*)$")
    if m then reqs[#reqs + 1] = { m, p, b } end
  end
  total = #reqs
  nxt, answered, created, bad, finished = 0, 0, 0, 0, false
  out = io.open(outdir .. "/" .. tag .. ".tsv", "w")
  hdr = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/scim+json" }
  get_hdr = { ["Authorization"] = "Bearer " .. token }
end

function request()
  if not primed or nxt >= total then
    primed = true
    return wrk.format("GET", base .. "/ServiceProviderConfig", get_hdr)
  end
  nxt = nxt + 1
  local r = reqs[nxt]
  if r[3] ~= "" then
    return wrk.format(r[1], base .. r[2], hdr, r[3])
  end
  return wrk.format(r[1], base .. r[2], get_hdr)
end

function response(status, headers, body)
  if finished then return end
  if status == 200 and body and body:find("ServiceProviderConfig", 1, true) then return end -- filler
  answered = answered + 1
  if status >= 300 then
    bad = bad + 1
    if bad <= 3 then io.stderr:write(tag, ": answered ", status, ": ", (body or ""):sub(1, 200), "\n") end
  elseif status == 201 and body then
    local id = body:match('"id"%s*:%s*"([^"]+)"')
    local name = body:match('"userName"%s*:%s*"([^"]+)"') or body:match('"displayName"%s*:%s*"([^"]+)"')
    if id and name then
      created = created + 1
      out:write(name, "\t", id, "\n")
    end
  end
  if answered >= total then
    finished = true
    out:close()
    local d = io.open(outdir .. "/" .. tag .. ".done", "w")
    d:write(answered, " ", created, " ", bad, "\n")
    d:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT replay %d %.2f %.1f %.3f %.3f %.3f %d %d\n", summary.requests, secs,
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
