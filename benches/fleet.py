#!/usr/bin/env python3
"""A fleet on one machine: N helpers sharing one account's CreateSession quota.

Started by benches/fleet.sh, which builds the binaries. Runs `rolesanywhere-local --plain-http
--rate-limit RATE --expire-after SESSION` on loopback, then starts N helpers within one second,
a third each of `serve`, `update` and a host calling `credential-process --cache` (its own cache
directory, a call every 2 to 6 s, as an SDK re-running it would), and watches them until each
has refreshed ROUNDS times.

Time is scaled down by SCALE: one-hour sessions become 3600/SCALE seconds, refreshed at the
latest 300/SCALE seconds before expiry (AWS_SIGNING_HELPER_REFRESH_WINDOW), so that a round of
refreshes takes about a minute instead of an hour. The quota is not scaled: with SCALE 60, 200
helpers load the quota as about 12,000 hosts with one-hour sessions would.

`serve` and `update` that exit are started again 10 s later, as systemd's Restart=on-failure
with RestartSec=10s does; a `credential-process` that fails is called again at the host's next
call. Measured:

* when every helper first held credentials (serve: it announces where it serves; update: it wrote
  the profile; credential-process: it printed credentials), and how many exited;
* the endpoint's counts (GET /_stats): CreateSession accepted and throttled, accepted per second
  (peak, distribution);
* for each refresh round (each helper's 1st, 2nd, 3rd ... refresh after its first credentials),
  the most helpers that refreshed in one second, and how long the round lasted: for all of them,
  for `serve` and `update` (whose refresh point is drawn at random) and for the cache's hosts
  (which refresh when a call finds the entry past half its life);
* resident memory of the serve and update processes at the end.
"""

import argparse
import json
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TA = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/fleet"
PROFILE = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/fleet"
ROLE = "arn:aws:iam::123456789012:role/fleet"
# Where each kind says it holds new credentials.
SERVE_FIRST = re.compile(r"serving credentials on http://")
SERVE_REFRESH = re.compile(r"credentials refreshed; they expire at")
UPDATE_WRITTEN = re.compile(r"profile \[default\] in .* holds credentials expiring at")
THROTTLED = re.compile(r"ThrottlingException")


class Fleet:
    """Shared state of the run: the clock, the stop flag, and what every helper did."""

    def __init__(self, args, endpoint_url, work):
        self.args = args
        self.url = endpoint_url
        self.work = work
        self.t0 = time.monotonic()
        self.wall0 = time.time()
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.first = {}        # host -> time of its first credentials
        self.refreshes = {}    # host -> [times of its later ones]
        self.exits = 0         # serve/update processes that exited on their own
        self.failed_calls = 0  # credential-process calls that failed
        self.throttled_lines = 0
        self.processes = {}    # host -> running serve/update Popen

    def now(self):
        return time.monotonic() - self.t0

    def got(self, host):
        """Host `host` holds new credentials now."""
        t = self.now()
        with self.lock:
            if host not in self.first:
                self.first[host] = t
            else:
                self.refreshes.setdefault(host, []).append(t)

    def done(self, host):
        with self.lock:
            return len(self.refreshes.get(host, [])) >= self.args.rounds

    def base_args(self, command):
        return [self.args.helper, command,
                "--certificate", self.args.certificate, "--private-key", self.args.key,
                "--trust-anchor-arn", TA, "--profile-arn", PROFILE, "--role-arn", ROLE,
                "--endpoint", self.url]

    def env(self, extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["HOME"] = self.work
        env.pop("NOTIFY_SOCKET", None)
        env["AWS_SIGNING_HELPER_REFRESH_WINDOW"] = str(self.args.window)
        env.update(extra or {})
        return env


def daemon(fleet, host, kind):
    """`serve` or `update`, started again 10 s after it exits, until the run stops."""
    args = fleet.base_args(kind)
    extra = {}
    if kind == "serve":
        args += ["--port", "0"]
    else:
        directory = os.path.join(fleet.work, f"host{host}")
        os.makedirs(directory, exist_ok=True)
        extra["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(directory, "credentials")
    args += fleet.args.extra
    while not fleet.stop.is_set():
        process = subprocess.Popen(args, env=fleet.env(extra), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, errors="replace")
        with fleet.lock:
            fleet.processes[host] = process
        last = ""
        for line in process.stderr:
            last = line.strip() or last
            if THROTTLED.search(line):
                with fleet.lock:
                    fleet.throttled_lines += 1
            if kind == "serve" and (SERVE_FIRST.search(line) or SERVE_REFRESH.search(line)):
                fleet.got(host)
            elif kind == "update" and UPDATE_WRITTEN.search(line):
                fleet.got(host)
        code = process.wait()
        if fleet.stop.is_set():
            return
        with fleet.lock:
            fleet.exits += 1
        if fleet.exits <= 5:
            print(f"  host {host} ({kind}) exited {code}: {last}", file=sys.stderr)
        fleet.stop.wait(10)


def cache_host(fleet, host):
    """A host whose SDK runs `credential-process --cache` every 2 to 6 s."""
    directory = os.path.join(fleet.work, f"cache{host}")
    args = fleet.base_args("credential-process") + ["--cache-dir", directory]
    last = None
    while not fleet.stop.is_set():
        run = subprocess.run(args, env=fleet.env(), stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, errors="replace")
        throttled = len(THROTTLED.findall(run.stderr))
        with fleet.lock:
            fleet.throttled_lines += throttled
        if run.returncode == 0:
            key = json.loads(run.stdout)["AccessKeyId"]
            if key != last:
                fleet.got(host)
                last = key
        else:
            with fleet.lock:
                fleet.failed_calls += 1
        fleet.stop.wait(random.uniform(2, 6))


def start_endpoint(args, work):
    anchors = os.path.join(work, "anchors.pem")
    with open(anchors, "w") as f:
        f.write(open(os.path.join(args.root, "testdata/pki/ca/root.pem")).read())
    config = os.path.join(work, "config.toml")
    with open(config, "w") as f:
        f.write(f'''region = "us-east-1"
account = "123456789012"
[[trust_anchor]]
arn = "{TA}"
ca_bundle = "{anchors}"
[[profile]]
arn = "{PROFILE}"
role_arns = ["{ROLE}"]
[[role]]
arn = "{ROLE}"
''')
    port_file = os.path.join(work, "port")
    log = open(os.path.join(work, "endpoint.log"), "w")
    process = subprocess.Popen(
        [args.local, "--config", config, "--port-file", port_file, "--plain-http",
         "--rate-limit", str(args.rate), "--expire-after", str(args.session)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    for _ in range(200):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return process, f"http://127.0.0.1:{open(port_file).read().strip()}"
        time.sleep(0.05)
    sys.exit("rolesanywhere-local did not start; see " + log.name)


def rss_mib(pids):
    sizes = []
    for pid in pids:
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return sizes


def rounds_report(fleet, rounds, hosts):
    """Per refresh round of `hosts`: how many refreshed, the most in one second, over how many
    seconds, and the span from the first to the last."""
    lines = []
    for r in range(rounds):
        times = [t[r] for h, t in fleet.refreshes.items() if h in hosts and len(t) > r]
        if not times:
            break
        per_second = {}
        for t in times:
            per_second[int(t)] = per_second.get(int(t), 0) + 1
        lines.append({
            "round": r + 1,
            "refreshed": len(times),
            "max_in_one_second": max(per_second.values()),
            "seconds": len(per_second),
            "span_s": round(max(times) - min(times), 1),
        })
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helper", required=True)
    parser.add_argument("--local", required=True)
    parser.add_argument("--root", default=".")
    parser.add_argument("-n", type=int, default=200, help="helpers (default 200)")
    parser.add_argument("--rate", default="10", help="CreateSession a second (default 10)")
    parser.add_argument("--scale", type=int, default=60,
                        help="time scale: sessions of 3600/SCALE s (default 60)")
    parser.add_argument("--rounds", type=int, default=3, help="refresh rounds (default 3)")
    parser.add_argument("--kinds", default="serve,update,cache",
                        help="helper kinds, assigned in turn (default serve,update,cache)")
    parser.add_argument("--json", help="write the figures here too")
    parser.add_argument("extra", nargs="*", help="more flags for serve and update")
    args = parser.parse_args()
    if 3600 % args.scale or 300 % args.scale:
        sys.exit("--scale must divide 300 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 25, 30, 50, 60 ...)")
    args.session, args.window = 3600 // args.scale, 300 // args.scale
    key_dir = os.path.join(args.root, "testdata/pki/ec-p256")
    args.certificate = os.path.join(key_dir, "fullchain.pem")
    args.key = os.path.join(key_dir, "key-pkcs8.pem")
    kinds = args.kinds.split(",")

    # Two pipes or so per helper.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = tempfile.mkdtemp(prefix="fleet.")
    endpoint, url = start_endpoint(args, work)
    fleet = Fleet(args, url, work)
    version = subprocess.run([args.helper, "version"], capture_output=True, text=True).stdout.strip()
    print(f"fleet: {args.n} helpers ({args.kinds}) of {version} against {args.rate}/s, "
          f"sessions of {args.session} s refreshed at the latest {args.window} s before expiry "
          f"(time scale 1/{args.scale}), {args.rounds} refresh rounds", file=sys.stderr)

    threads = []
    fleet.t0, fleet.wall0 = time.monotonic(), time.time()
    for host in range(args.n):
        kind = kinds[host % len(kinds)]
        target = cache_host if kind == "cache" else daemon
        thread_args = (fleet, host) if kind == "cache" else (fleet, host, kind)
        thread = threading.Thread(target=target, args=thread_args, daemon=True)
        # Within one second, in order.
        delay = host / args.n - fleet.now()
        if delay > 0:
            time.sleep(delay)
        thread.start()
        threads.append(thread)
    started = fleet.now()

    limit = 240 + args.rounds * args.session * 2
    while fleet.now() < limit:
        if all(fleet.done(h) for h in range(args.n)):
            break
        time.sleep(1)
    ended = fleet.now()
    with fleet.lock:
        daemons = dict(fleet.processes)
    memory = {kind: rss_mib(p.pid for h, p in daemons.items()
                            if kinds[h % len(kinds)] == kind and p.poll() is None)
              for kind in ("serve", "update")}
    fleet.stop.set()
    for process in daemons.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=30)
    stats = json.load(urllib.request.urlopen(url + "/_stats", timeout=10))
    endpoint.send_signal(signal.SIGTERM)
    endpoint.wait(timeout=10)

    cs = stats["create_session"]
    counts = sorted(cs["per_second"].values())
    held = [fleet.first.get(h) for h in range(args.n)]
    figures = {
        "helpers": args.n,
        "kinds": args.kinds,
        "version": version,
        "rate_limit": args.rate,
        "session_s": args.session,
        "window_s": args.window,
        "started_within_s": round(started, 2),
        "all_held_credentials_after_s": None if None in held else round(max(held), 1),
        "held_credentials": sum(t is not None for t in held),
        "exited": fleet.exits,
        "failed_credential_process_calls": fleet.failed_calls,
        "throttled_attempt_lines": fleet.throttled_lines,
        "create_session_accepted": cs["accepted"],
        "create_session_throttled": cs["throttled"],
        "accepted_peak_per_second": max(counts) if counts else 0,
        "accepted_per_second_median": statistics.median(counts) if counts else 0,
        "accepted_per_second_p90": counts[int(0.9 * (len(counts) - 1))] if counts else 0,
        "seconds_with_accepted_calls": len(counts),
        "seconds_by_accepted_calls": {str(n): counts.count(n) for n in sorted(set(counts))},
        "run_s": round(ended, 1),
        "rounds": rounds_report(fleet, args.rounds, set(range(args.n))),
        "rounds_serve_update": rounds_report(
            fleet, args.rounds, {h for h in range(args.n) if kinds[h % len(kinds)] != "cache"}),
        "rounds_cache": rounds_report(
            fleet, args.rounds, {h for h in range(args.n) if kinds[h % len(kinds)] == "cache"}),
        "rss_mib_mean": {k: round(statistics.mean(v), 1) for k, v in memory.items() if v},
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
