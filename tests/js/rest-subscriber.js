// A pusher-js client for the REST client's tests against a real server: it connects, signs in,
// subscribes to the channels it is given (private, presence and encrypted ones authorized on
// the spot with the official Node SDK), and reports what it receives, one JSON object per line
// on stdout:
//   {"ready": "<socket id>"}                     connected, signed in, every channel subscribed
//   {"channel": "...", "event": "...", "data": …} an event on a channel (decrypted by pusher-js)
//   {"user_event": "...", "data": …}              an event sent to the signed-in user
//   {"state": "<new state>"}                      a connection state change after ready
//   {"error": "..."}                              a subscription or sign-in failure
//
// Configuration comes from the environment: WS_PORT, APP_ID, APP_KEY, APP_SECRET,
// MASTER_KEY_BASE64, USER_ID, CHANNELS (comma-separated).
"use strict";
const Pusher = require("pusher-js");
const PusherServer = require("pusher");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const server = new PusherServer({
  appId: env("APP_ID"),
  key: env("APP_KEY"),
  secret: env("APP_SECRET"),
  encryptionMasterKeyBase64: env("MASTER_KEY_BASE64"),
  host: "127.0.0.1",
  port: env("WS_PORT"),
});
const userId = env("USER_ID");
const channels = env("CHANNELS").split(",");

const client = new Pusher(env("APP_KEY"), {
  cluster: "mt1",
  wsHost: "127.0.0.1",
  wsPort: Number(env("WS_PORT")),
  forceTLS: false,
  enabledTransports: ["ws"],
  disableStats: true,
  channelAuthorization: {
    customHandler: ({ socketId, channelName }, callback) => {
      try {
        const data = channelName.startsWith("presence-") ? { user_id: userId, user_info: { name: userId } } : undefined;
        callback(null, server.authorizeChannel(socketId, channelName, data));
      } catch (e) {
        callback(e, null);
      }
    },
  },
  userAuthentication: {
    customHandler: ({ socketId }, callback) => {
      try {
        callback(null, server.authenticateUser(socketId, { id: userId }));
      } catch (e) {
        callback(e, null);
      }
    },
  },
});

let ready = false;
client.connection.bind("state_change", ({ current }) => {
  if (ready) out({ state: current });
});
client.user.bind("pusher:signin_error", (e) => out({ error: `signin: ${JSON.stringify(e)}` }));

client.connection.bind("connected", async () => {
  if (ready) return;
  client.signin();
  await client.user.signinDonePromise;
  client.user.bind_global((event, data) => {
    if (!event.startsWith("pusher")) out({ user_event: event, data });
  });
  // The user's own channel (#server-to-user-<id>) is subscribed right after sign-in.
  for (let i = 0; i < 100 && !(client.user.serverToUserChannel && client.user.serverToUserChannel.subscribed); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Promise.all(
    channels.map(
      (name) =>
        new Promise((resolve) => {
          const channel = client.subscribe(name);
          channel.bind("pusher:subscription_succeeded", () => resolve());
          channel.bind("pusher:subscription_error", (e) => {
            out({ error: `${name}: ${JSON.stringify(e)}` });
            resolve();
          });
          channel.bind_global((event, data) => {
            if (!event.startsWith("pusher")) out({ channel: name, event, data });
          });
        }),
    ),
  );
  ready = true;
  out({ ready: client.connection.socket_id });
});
