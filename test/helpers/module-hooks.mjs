// Test helper, preloaded with --import into a child process: records every module URL the process loads (to the file in
// RILL_TEST_LOADED) and makes the packages named in RILL_TEST_BROKEN (comma-separated) fail to resolve, as a missing install would.
import { register } from "node:module";

register(`data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from "node:fs";
const loaded = process.env.RILL_TEST_LOADED;
const broken = (process.env.RILL_TEST_BROKEN ?? "").split(",").filter((name) => name !== "");
export async function resolve(specifier, context, next) {
  if (broken.includes(specifier)) throw new Error("Cannot find package '" + specifier + "' (made missing by the test)");
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (loaded) appendFileSync(loaded, url + "\\n");
  return next(url, context);
}
`)}`);
