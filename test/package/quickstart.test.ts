// Rill as a user gets it: `npm pack`, the tarball installed into a new project, and the README's quick start (ES module
// and CommonJS) run verbatim with plain `node`, not tsx. Slow (a build and an install): one test, a generous timeout.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { promisify } from "node:util";
import { generateActivity } from "../../src/index.ts";

const run = promisify(execFile);

/** The code block that follows the README's sentence naming `file` ("save this as `quickstart.mjs`"). */
function readmeBlock(readme: string, file: string): string {
  const at = readme.indexOf(`save this as \`${file}\``);
  assert.ok(at >= 0, `the README names ${file}`);
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block?.[1], `a js block follows the mention of ${file}`);
  return block[1];
}

/** The counts per gt, as plain code computes them over the same generated rows. */
function expectedCounts(): string[] {
  const counts = new Map<string, number>();
  for (const row of generateActivity({ seed: 1, count: 10_000 })) counts.set(String(row.gt), (counts.get(String(row.gt)) ?? 0) + 1);
  return [...counts].map(([gt, count]) => `${gt} ${count}`).sort();
}

it("packs only dist, README and LICENSE, installs without warnings, and runs the README's quick start with plain node (ESM and CommonJS)", { timeout: 900_000 }, async () => {
  const folder = await mkdtemp(join(tmpdir(), "rill-package-"));
  try {
    // `npm pack` runs `prepare`, which builds dist/.
    const packed = await run("npm", ["pack", "--json", "--pack-destination", folder], { maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
    const [manifest] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.ok(manifest);
    const paths = manifest.files.map((file) => file.path);
    const stray = paths.filter((path) => !path.startsWith("dist/") && !["README.md", "LICENSE", "package.json"].includes(path));
    assert.deepEqual(stray, [], "only dist/, README.md, LICENSE and package.json are shipped");
    for (const needed of ["dist/index.js", "dist/index.d.ts", "dist/cli/rill.js", "dist/monitoring/ui/index.html", "README.md", "LICENSE"]) assert.ok(paths.includes(needed), needed);
    assert.ok(!paths.some((path) => path.includes(".test.") || path.endsWith(".ts") && !path.endsWith(".d.ts")), "no tests, no TypeScript sources");

    const project = join(folder, "project");
    await run("mkdir", ["-p", project]);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "rill-user", version: "1.0.0", private: true }));
    const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", join(folder, manifest.filename)], { cwd: project, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
    // npm 11 names every dependency with an install script that the project has not approved; lmdb's and
    // msgpackr-extract's only check that their prebuilt binary is there (README, "Install"). Rill itself has none.
    const warnings = installed.stderr.split("\n").filter((line) => /^npm warn/i.test(line) && !/^npm warn install-scripts( {3}(lmdb|msgpackr-extract)@| \d+ packages have install scripts|$| Run `npm install-scripts ls`)/.test(line));
    assert.deepEqual(warnings, [], installed.stderr);

    const readme = await readFile("README.md", "utf8");
    const expected = expectedCounts();
    for (const file of ["quickstart.mjs", "quickstart.cjs"]) {
      await writeFile(join(project, file), readmeBlock(readme, file));
      const { stdout, stderr } = await run(process.execPath, [file], { cwd: project, timeout: 120_000, env: { ...process.env, NODE_OPTIONS: "" } });
      const counts = stdout.split("\n").filter((line) => /^\S+ \d+$/.test(line)).sort();
      assert.deepEqual(counts, expected, `${file} printed the counts of plain code\n${stdout}\n${stderr}`);
      assert.doesNotMatch(stderr, /Warning|Error/, `${file}: ${stderr}`);
    }
    const { stdout: version } = await run(join(project, "node_modules", ".bin", "rill"), ["--version"], { cwd: project });
    assert.equal(version.trim(), (JSON.parse(await readFile("package.json", "utf8")) as { version: string }).version);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
