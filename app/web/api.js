// Talking to Chirp over HTTP: POST /graphql with JSON, and the tokens that say who asks.
//
// Logging in (or signing up) gives two tokens:
// - an access token, sent as `Authorization: Bearer <token>` on every request (and in the
//   websocket's connection_init, see live.js). It lives 15 minutes.
// - a refresh token, traded with the refreshToken mutation for a new pair. Each one works
//   ONCE: presenting a used one again ends the whole session, on every device (it looks
//   like a stolen token being replayed). So a client must never refresh twice with the
//   same token: below, one refresh at a time per tab, and one at a time across tabs.

import { LOG_IN, LOG_OUT, REFRESH_TOKEN, SIGN_UP } from "./operations.js";

const ENDPOINT = "/graphql";
const REFRESH_EARLY_MS = 60_000;

// A GraphQL error, with its stable `extensions.code` (BAD_USER_INPUT, UNAUTHENTICATED,
// NOT_FOUND, RATE_LIMITED...) and, for bad input, the `field` it is about.
export class ApiError extends Error {
  constructor(message, code = "UNKNOWN", field = null) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

// One request, as is: the operation's `data`, or an ApiError for its first error.
export async function post(query, variables = {}, token = null) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError("Chirp cannot be reached. Check your connection.", "NETWORK");
  }
  // Chirp answers GraphQL errors with 200, and requests it cannot run at all (bad JSON,
  // too large...) with a 4xx in the same {"errors": [...]} shape.
  const body = await response.json().catch(() => null);
  if (body?.errors?.length) {
    const [error] = body.errors;
    throw new ApiError(error.message, error.extensions?.code, error.extensions?.field);
  }
  if (!response.ok || !body) {
    throw new ApiError(`Chirp answered HTTP ${response.status}.`, "HTTP");
  }
  return body.data;
}

// ---- the session, shared by this origin's tabs ----
//
// The tokens are kept in IndexedDB: unlike localStorage, which Chrome syncs between tabs a
// moment late, a value committed there is what every tab reads next, and the refresh below
// depends on that. A BroadcastChannel tells the other tabs when the session changed.

const DATABASE = "chirp";
const SESSION_KEY = "session";
const channel = new BroadcastChannel("chirp.session");
const listeners = new Set();
let session = null;

function database() {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore("kv");
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

// One IndexedDB transaction on the "kv" store; resolves when it has committed.
async function transact(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction("kv", mode);
    const request = work(transaction.objectStore("kv"));
    transaction.oncomplete = () => resolve(request.result ?? null);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  }).finally(() => db.close());
}

const readStored = () => transact("readonly", (kv) => kv.get(SESSION_KEY));

function changed(previous) {
  if (session?.user?.id === previous?.user?.id) return;
  for (const listener of listeners) listener(session?.user ?? null);
}

async function store(auth) {
  const previous = session;
  session = auth && {
    accessToken: auth.accessToken,
    refreshToken: auth.refreshToken,
    // When the access token expires, by this browser's clock (expiresIn is in seconds).
    expiresAt: Date.now() + auth.expiresIn * 1000,
    user: auth.user,
  };
  await transact("readwrite", (kv) =>
    session ? kv.put(session, SESSION_KEY) : kv.delete(SESSION_KEY),
  );
  channel.postMessage("changed");
  changed(previous);
}

// Another tab logged in, out, or rotated the tokens: take what it stored.
channel.onmessage = async () => {
  const previous = session;
  session = await readStored();
  changed(previous);
};

// Resolves once the stored session (if any) is loaded: await it before asking currentUser().
export const ready = readStored().then((stored) => {
  session = stored;
});

export function currentUser() {
  return session?.user ?? null;
}

export function onSessionChange(listener) {
  listeners.add(listener);
}

export async function signUp(input) {
  await store((await post(SIGN_UP, { input })).signUp);
}

export async function logIn(login, password) {
  await store((await post(LOG_IN, { login, password })).logIn);
}

export async function logOut() {
  const refreshToken = session?.refreshToken;
  await store(null);
  // Ends the session on the server too: its access tokens stop working at once.
  if (refreshToken) await post(LOG_OUT, { refreshToken }).catch(() => {});
}

// ---- refreshing ----

let refreshing = null;

// Trade the refresh token for a new pair. Callers at the same moment share one trade.
export function refreshTokens() {
  refreshing ??= rotate().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// One tab at a time (a Web Lock, held until the new pair is committed): the tab that gets
// the lock second finds that the stored token is no longer the one it holds, and takes the
// new pair instead of presenting a used token.
async function rotate() {
  const used = session?.refreshToken;
  const trade = async () => {
    const stored = await readStored();
    if (!stored) {
      await store(null);
      throw new ApiError("You are logged out.", "UNAUTHENTICATED");
    }
    if (stored.refreshToken !== used) {
      session = stored; // another tab traded it while we waited: use its pair
      return;
    }
    try {
      await store((await post(REFRESH_TOKEN, { refreshToken: used })).refreshToken);
    } catch (error) {
      if (error.code === "UNAUTHENTICATED") await store(null); // the session is over
      throw error;
    }
  };
  // Web Locks exist only in secure contexts (https, or 127.0.0.1 / localhost).
  return navigator.locks ? navigator.locks.request("chirp.refresh", trade) : trade();
}

// The access token to send now, refreshed first if it is about to expire.
export async function accessToken() {
  // A session stored before expiresAt was kept refreshes once now. An UNAUTHENTICATED
  // answer refreshes too (see request below): a clock that jumped.
  if (session && (session.expiresAt ?? 0) - Date.now() < REFRESH_EARLY_MS) {
    await refreshTokens();
  }
  return session?.accessToken ?? null;
}

// A request as the logged-in user (or anonymously when logged out). An expired or
// revoked access token does not fail the request by itself: it runs anonymously, and the
// fields that need a viewer answer UNAUTHENTICATED. Then we refresh once and retry.
export async function request(query, variables = {}) {
  const token = await accessToken();
  try {
    return await post(query, variables, token);
  } catch (error) {
    if (error.code !== "UNAUTHENTICATED" || !token) throw error;
    await refreshTokens(); // logs out (and throws) when the session has ended
    return post(query, variables, session?.accessToken);
  }
}
