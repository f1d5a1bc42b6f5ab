// What the page has besides its own script: pusher-js, loaded from /pusher.min.js as a global.
declare const Pusher: typeof import("pusher-js").default;
