// deploy/nginx.conf moved onto other addresses, for a run on one machine: the end-to-end suite
// (harness.js's startNginx) and scripts/scale both use it, so that neither needs fixed ports.
// Only addresses change, and what `extra` adds: every limit, timeout and header is the file's.
//
//   node tests/e2e/nginx-config.js '<options as JSON>' > nginx.conf     (scripts/scale)
//
// Options: `listen` (a port on 127.0.0.1), `apps` and `nodes` (host:port lists that replace the
// `server` lines of the two upstream blocks, each keeping the parameters of the file's first
// line), `upstreamHeader` (add `X-Upstream: $upstream_addr` to every answer, which the scale
// report uses to tell the instances and nodes apart; never in production), and `serverExtra`
// (lines added inside the `server` block), `mapSource` (the variable the per-address
// key `$client_net` is computed from instead of `$remote_addr`, for a test of that map). A file that no longer has what is replaced is an
// error, not a silent copy.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const FILE = path.resolve(__dirname, "../../deploy/nginx.conf");

function replaceOnce(text, pattern, replacement, what) {
  if (!pattern.test(text)) throw new Error(`deploy/nginx.conf: ${what} not found; update tests/e2e/nginx-config.js`);
  return text.replace(pattern, replacement);
}

/** The `server` lines of `upstream name` replaced by one per address, with the first line's parameters. */
function upstream(text, name, addresses) {
  const block = new RegExp(`(upstream ${name} \\{\\n)((?:[ \\t]*(?!server )[^\\n]*\\n)*?)((?:[ \\t]*server [^\\n]*\\n)+)`);
  const found = block.exec(text);
  if (!found) throw new Error(`deploy/nginx.conf: no server lines in upstream ${name}; update tests/e2e/nginx-config.js`);
  const [, head, comments, servers] = found;
  const first = /^([ \t]*)server \S+?((?: [^;]*)?);/.exec(servers.split("\n")[0]);
  const [, indent, params] = first;
  const lines = addresses.map((a) => `${indent}server ${a}${params};\n`).join("");
  return text.replace(block, `${head}${comments}${lines}`);
}

function nginxConfig({ listen, apps, nodes, upstreamHeader, serverExtra, mapSource }) {
  let conf = fs.readFileSync(FILE, "utf8");
  conf = replaceOnce(conf, /listen 127\.0\.0\.1:8080 /, `listen 127.0.0.1:${listen} `, "`listen 127.0.0.1:8080`");
  conf = upstream(conf, "chat_apps", apps);
  conf = upstream(conf, "sockudo_nodes", nodes);
  if (mapSource) {
    // The per-address key read from another variable (a test sends the address in a header).
    const map = /map \$remote_addr \$client_net \{[^}]*\}/;
    const found = map.exec(conf);
    if (!found) throw new Error("deploy/nginx.conf: no `map $remote_addr $client_net`; update tests/e2e/nginx-config.js");
    conf = conf.replace(map, found[0].replaceAll("$remote_addr", mapSource));
  }
  const extra = [];
  if (upstreamHeader) extra.push("add_header X-Upstream $upstream_addr always;");
  if (serverExtra) extra.push(...[].concat(serverExtra));
  if (extra.length) {
    conf = replaceOnce(conf, /(listen 127\.0\.0\.1:\d+ [^\n]*\n)/, `$1${extra.map((l) => `        ${l}\n`).join("")}`, "the listen line");
  }
  return conf;
}

module.exports = { nginxConfig };

if (require.main === module) {
  process.stdout.write(nginxConfig(JSON.parse(process.argv[2])));
}
