// A test's code in a fresh Node process (tsx loaded, the repository root as working directory): for what a process
// does once, at start-up or at exit.
import { spawn } from "node:child_process";

/** Runs `code` (an ES module, from the repository root) in a new Node process; its exit code, signal and output. */
export function runChild(code: string, timeoutMs = 60_000): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    // Only a bound on a hang: the child is expected to exit on its own.
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ code: exitCode, signal, stdout, stderr });
    });
  });
}
