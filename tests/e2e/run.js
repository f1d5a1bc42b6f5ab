#!/usr/bin/env node
// Runs the end-to-end suite: checks the Node.js version (node-version.js), then runs
// `node --test --test-reporter=spec` on the suite's files, named explicitly: every
// `*.test.js` in this folder, or the files given as arguments.
//
//   node tests/e2e/run.js                          the whole suite (what scripts/test runs)
//   node tests/e2e/run.js tests/e2e/chat.test.js   one file
//
// Node.js's own handling of a folder argument differs between versions; this does not use it.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { checkNodeVersion } = require("./node-version");

function main() {
  try {
    checkNodeVersion();
  } catch (error) {
    console.error(`tests/e2e/run.js: ${error.message}`);
    return 1;
  }
  let files = process.argv.slice(2);
  if (files.length === 0) {
    files = fs.readdirSync(__dirname).filter((f) => f.endsWith(".test.js")).sort().map((f) => path.join(__dirname, f));
    if (files.length === 0) {
      console.error(`tests/e2e/run.js: no *.test.js in ${path.relative(process.cwd(), __dirname) || "."}`);
      return 1;
    }
  }
  for (const file of files) {
    if (!fs.existsSync(file)) {
      console.error(`tests/e2e/run.js: ${file} does not exist`);
      return 1;
    }
  }
  console.log(`end-to-end files: ${files.map((f) => path.relative(process.cwd(), f)).join(", ")}`);
  const run = spawnSync(process.execPath, ["--test", "--test-reporter=spec", ...files], { stdio: "inherit" });
  if (run.error) {
    console.error(`tests/e2e/run.js: could not run node --test: ${run.error.message}`);
    return 1;
  }
  if (run.signal) {
    console.error(`tests/e2e/run.js: node --test was stopped by ${run.signal}`);
    return 1;
  }
  return run.status;
}

process.exitCode = main();
