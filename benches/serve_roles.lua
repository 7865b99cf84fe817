-- wrk script of benches/serve_roles.sh: each request asks for the next role's container
-- credentials (/roles/rN/credentials with rN's token), round robin over ROLES roles.
local roles = tonumber(os.getenv("ROLES") or "10")
local next_role = 0

request = function()
    next_role = next_role % roles + 1
    return wrk.format("GET", "/roles/r" .. next_role .. "/credentials",
        { ["Authorization"] = string.format("bench-token-%04d", next_role) })
end
