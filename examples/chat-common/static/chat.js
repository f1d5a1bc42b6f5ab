// @ts-check
// The chat page's script, checked by the TypeScript compiler (`tsc --checkJs`, as the test
// command runs it) against pusher-js's types and `channels.d.ts`, the declarations written
// from the Rust channel definitions: a renamed event, channel or payload field fails the
// check before it fails in a browser.
"use strict";

/** @typedef {import("./channels").TypedPusher} TypedPusher */
/** @typedef {import("./channels").Message} Message */

/**
 * What the server puts in the page (`<script type="application/json" id="config">`).
 * @typedef {{ key: string, server: { wsHost?: string, forceTLS?: boolean } & Record<string, unknown>, encrypted: boolean, user: string | null }} Config
 */

/** @param {string} id */
function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`no #${id} in the page`);
  return element;
}

/** @param {string} id */
function input(id) {
  return /** @type {HTMLInputElement} */ ($(id));
}

/** @type {Config} */
const CONFIG = JSON.parse($("config").textContent || "{}");
const csrfMeta = /** @type {HTMLMetaElement} */ (document.querySelector('meta[name="csrf-token"]'));
// The session's CSRF token: in the page once logged in, or from the login answer.
let csrf = csrfMeta.content;
/** @type {{ pusher: import("pusher-js").default | null, events: { kind: string, detail: unknown, at: number }[] }} */
const state = { pusher: null, events: [] };
/** @type {any} */ (window).chat = state; // for tests: the events this page received

/** @param {string} kind @param {unknown} detail */
function log(kind, detail) { state.events.push({ kind, detail, at: Date.now() }); }

/** @param {string} name @param {string} text */
function say(name, text) {
  const li = document.createElement("li");
  const b = document.createElement("b");
  b.textContent = name;
  li.append(b, document.createTextNode(text));
  $("messages").append(li);
}

/** @param {string} path @param {unknown} [body] */
function post(path, body) {
  /** @type {Record<string, string>} */
  const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
  // Laravel Echo's convention: the sender's connection, so the server can exclude it.
  const socket = state.pusher && state.pusher.connection.socket_id;
  if (socket) headers["X-Socket-ID"] = socket;
  return fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
}

/** @param {string} name @param {string} text */
function channelStatus(name, text) {
  let li = /** @type {HTMLElement | null} */ (document.querySelector(`#channels li[data-name="${name}"]`));
  if (!li) { li = document.createElement("li"); li.dataset.name = name; $("channels").append(li); }
  li.textContent = `${name}: ${text}`;
}

function connect() {
  const headersProvider = () => ({ "X-CSRF-Token": csrf });
  const options = Object.assign({ cluster: "mt1" }, CONFIG.server, {
    // Pusher's clusters: always TLS. A self-hosted server: as the app says (CHAT_WS_TLS).
    forceTLS: CONFIG.server.wsHost ? CONFIG.server.forceTLS === true : true,
    enabledTransports: /** @type {("ws" | "wss")[]} */ (["ws", "wss"]),
    channelAuthorization: { endpoint: "/channels/authorize", transport: /** @type {"ajax"} */ ("ajax"), headersProvider },
    userAuthentication: { endpoint: "/channels/user-auth", transport: /** @type {"ajax"} */ ("ajax"), headersProvider },
  });
  const pusher = new Pusher(CONFIG.key, options);
  state.pusher = pusher;
  // The same object, its channels and events typed by the Rust definitions.
  const typed = /** @type {TypedPusher} */ (/** @type {unknown} */ (pusher));
  pusher.connection.bind("state_change", (/** @type {{ current: string }} */ s) => { $("status").textContent = s.current; log("connection", s.current); });

  const chat = typed.subscribe("private-chat");
  chat.bind("pusher:subscription_succeeded", () => { channelStatus("private-chat", "joined"); log("subscribed", "private-chat"); });
  chat.bind("pusher:subscription_error", (e) => { channelStatus("private-chat", `error ${e.status}`); log("subscription_error", { channel: "private-chat", status: e.status }); });
  chat.bind("send-message", (m) => { say(m.name, m.message); log("message", m); });

  const presence = typed.subscribe("presence-chat");
  const renderOnline = () => {
    $("online").replaceChildren();
    presence.members.each((m) => { const li = document.createElement("li"); li.textContent = m.info.name; $("online").append(li); });
  };
  presence.bind("pusher:subscription_succeeded", () => { channelStatus("presence-chat", "joined"); renderOnline(); log("subscribed", "presence-chat"); });
  presence.bind("pusher:subscription_error", (e) => { channelStatus("presence-chat", `error ${e.status}`); log("subscription_error", { channel: "presence-chat", status: e.status }); });
  presence.bind("pusher:member_added", (m) => { renderOnline(); log("member_added", m.info); });
  presence.bind("pusher:member_removed", (m) => { renderOnline(); log("member_removed", m.info); });

  if (CONFIG.encrypted) {
    const secret = typed.subscribe("private-encrypted-chat");
    secret.bind("pusher:subscription_succeeded", () => { channelStatus("private-encrypted-chat", "joined"); log("subscribed", "private-encrypted-chat"); });
    secret.bind("pusher:subscription_error", (e) => { channelStatus("private-encrypted-chat", `error ${e.status}`); });
    secret.bind("send-message", (m) => { say(`${m.name} (encrypted)`, m.message); log("encrypted_message", m); });
  }

  pusher.signin();
  typed.user.bind("pusher:signin_success", () => log("signed_in", null));
  typed.user.bind("whisper", (m) => { say(`${m.name} (to you)`, m.message); log("whisper", m); });
}

/** @param {string} name */
function loggedIn(name) {
  $("login").classList.add("hidden");
  $("send").classList.remove("hidden");
  document.title = `${name} - pusher-auth chat`;
  connect();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const response = await post("/login", { name: input("name").value });
  if (response.ok) {
    /** @type {{ name: string, csrf: string }} */
    const me = await response.json();
    csrf = me.csrf;
    // Where Laravel Echo and other scripts look for it.
    csrfMeta.content = csrf;
    loggedIn(me.name);
  } else $("status").textContent = "login refused";
});

// "/w name text" whispers to one user, "/e text" sends end-to-end encrypted, anything else
// goes to everyone.
$("send").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = input("message").value;
  input("message").value = "";
  let response;
  const whisper = text.match(/^\/w (\S+) (.+)$/);
  if (whisper) {
    say(`me (to ${whisper[1]})`, whisper[2]);
    response = await post("/channels/whisper", { to: whisper[1], message: whisper[2] });
  } else if (text.startsWith("/e ")) {
    say("me (encrypted)", text.slice(3));
    response = await post("/channels/send-message", { message: text.slice(3), encrypted: true });
  } else {
    say("me", text);
    response = await post("/channels/send-message", { message: text });
  }
  log("sent", { status: response.status });
});

$("logout").addEventListener("click", async () => {
  await post("/logout");
  location.reload();
});

if (CONFIG.user) loggedIn(CONFIG.user);
