// Live updates: GraphQL subscriptions over a websocket on /graphql, with the
// graphql-transport-ws protocol, spoken by the graphql-ws library (its UMD build, from npm,
// loaded by the page before this module: it sets window.graphqlWs).
//
// The access token goes in the connection_init payload as {"token": ...}: browsers cannot
// set headers on a websocket. The server checks it once, when the socket opens (a bad one
// closes the socket with 4403); a subscription then runs until it is stopped or the session
// ends (logOut), when it ends with an UNAUTHENTICATED error.

import { accessToken, currentUser, logOut } from "./api.js";
import { HOME_LIVE, NOTIFICATIONS_LIVE } from "./operations.js";

const { createClient } = window.graphqlWs;
const MAX_RETRY_WAIT_MS = 30_000;
const RESTART_AFTER_MS = 5_000;

let client = null;
const statusListeners = new Set();

// "connecting", "live" or "offline", for the page to show.
export function onStatus(listener) {
  statusListeners.add(listener);
}

function setStatus(status) {
  for (const listener of statusListeners) listener(status);
}

function connection() {
  client ??= createClient({
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
    // A function, so every (re)connection sends the token as it is then, refreshed if
    // it expired while the socket was down.
    connectionParams: async () => ({ token: await accessToken() }),
    // Keep reconnecting (a server restart, a laptop waking up), backing off up to 30 s.
    retryAttempts: Infinity,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const wait = Math.min(1000 * 2 ** retries, MAX_RETRY_WAIT_MS);
      await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + Math.random() / 2)));
    },
    on: {
      connecting: () => setStatus("connecting"),
      connected: () => setStatus("live"),
      closed: () => setStatus("offline"),
    },
  });
  return client;
}

// Close the socket (logging out): its subscriptions end with it.
export function disconnect() {
  client?.dispose();
  client = null;
  setStatus("offline");
}

// A subscription that outlives errors: the server ends one with UNAUTHENTICATED only when the
// session itself has ended (logOut, a replayed refresh token, the account gone), so we log
// out too; any other error (a store briefly unavailable) restarts it a little later.
// Returns a function that stops it.
function keep(query, variables, onData) {
  let stop = null;
  let stopped = false;
  const start = () => {
    stop?.(); // a restart replaces the subscription; the server still has the old one open
    stop = connection().subscribe(
      { query, variables },
      {
        next: ({ data, errors }) => (errors?.length ? failed(errors[0]) : onData(data)),
        error: failed,
        complete: () => {},
      },
    );
  };
  const failed = (error) => {
    const problem = Array.isArray(error) ? error[0] : error;
    if (stopped || !currentUser()) return;
    if (problem?.extensions?.code === "UNAUTHENTICATED") logOut();
    else setTimeout(() => stopped || !currentUser() || start(), RESTART_AFTER_MS);
  };
  start();
  return () => {
    stopped = true;
    stop();
  };
}

// The home timeline, live: `onEvent({type: "ADDED" | "DELETED", tweetId, tweet, cursor})`.
//
// `after` is the cursor of the newest tweet the page already shows: the server first
// replays what came after it, so nothing posted between loading the page and subscribing
// is lost. graphql-ws sends this same payload again whenever it reconnects, so keeping
// `variables.after` at the latest event's cursor makes a reconnect replay what was missed.
export function watchHome(after, onEvent) {
  const variables = { after };
  return keep(HOME_LIVE, variables, ({ homeTimeline: event }) => {
    if (event.cursor) variables.after = event.cursor;
    onEvent(event);
  });
}

// The viewer's notifications, live: `onChange({type, notificationId, unreadCount})` when one
// is new, grows or is withdrawn; `unreadCount` is the badge's figure after the change.
export function watchNotifications(onChange) {
  return keep(NOTIFICATIONS_LIVE, {}, ({ notifications: event }) => onChange(event));
}
