// The Node.js major version the end-to-end suite is tested on, from tests/js/package.json's
// `engines` ("20.x"), and a check that the running Node.js has it. The runner (run.js) and
// the harness call it, so the suite fails at its start, saying why, on another major version.
"use strict";
const path = require("node:path");

const PACKAGE = path.join(__dirname, "../js/package.json");

function requiredMajor() {
  const range = require(PACKAGE).engines && require(PACKAGE).engines.node;
  const match = /^(\d+)\.x$/.exec(range || "");
  if (!match) throw new Error(`${PACKAGE}: engines.node is ${JSON.stringify(range)}, expected a major version such as "20.x"`);
  return Number(match[1]);
}

function checkNodeVersion() {
  const required = requiredMajor();
  const running = Number(process.versions.node.split(".")[0]);
  if (running !== required) {
    throw new Error(`the end-to-end suite needs Node.js ${required}.x (tests/js/package.json "engines"); this is Node.js ${process.versions.node} (${process.execPath})`);
  }
}

module.exports = { checkNodeVersion, requiredMajor };
