// A private nats-server never outlives the process that started it: it runs under a small POSIX shell watchdog that
// holds the read end of a pipe from its parent. Whatever ends the parent (exit, a signal, SIGKILL), the kernel closes the
// write end, the watchdog reads end-of-file, stops the server and removes its store. No native addon, no polling.
import { spawn, type ChildProcess } from "node:child_process";

/**
 * $1 is the store to remove when the parent is gone; the rest is the server's command line. fd 3 keeps the parent's pipe
 * (a background list's stdin would be /dev/null otherwise); the server gets neither. A SIGTERM or SIGINT to the watchdog
 * is passed on to the server, and the watchdog exits with the server's status once the server has exited.
 */
const WATCHDOG = `
store="$1"; shift
exec 3<&0 </dev/null
"$@" 3<&- &
server=$!
{ read -r _ <&3; : > "$store/.parent-gone"; kill -TERM "$server" 2>/dev/null; } &
reader=$!
exec 3<&-
trap 'kill -TERM "$server" 2>/dev/null' TERM INT
while :; do
  wait "$server"; status=$?
  kill -0 "$server" 2>/dev/null || break
done
if [ -e "$store/.parent-gone" ]; then rm -rf "$store"; else kill "$reader" 2>/dev/null; fi
exit "$status"
`;

/** Starts `binary args` under the watchdog (directly on Windows, which has no POSIX shell). stderr is the server's. */
export function spawnWatched(binary: string, args: readonly string[], storeDir: string): ChildProcess {
  if (process.platform === "win32") return spawn(binary, [...args], { stdio: ["ignore", "ignore", "pipe"] });
  // stdin is the pipe the watchdog watches: nothing is ever written to it, and it closes when this process ends. Its own
  // process group: Ctrl-C in a terminal signals the whole foreground group, and the server must outlive that signal
  // until this process has committed its last epoch and stops it.
  return spawn("/bin/sh", ["-c", WATCHDOG, "rill-nats-watchdog", storeDir, binary, ...args], { stdio: ["pipe", "ignore", "pipe"], detached: true });
}
