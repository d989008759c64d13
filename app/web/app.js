// Chirp's web client: the pages, and which API call each one makes. The API itself is in
// api.js (HTTP and tokens), live.js (subscriptions), media.js (uploads) and operations.js
// (the GraphQL documents). Pages are chosen by the URL's fragment:
//   #/home  #/u/<username>  #/notifications  #/search/<query>

import { currentUser, logIn, logOut, onSessionChange, ready, request, signUp } from "./api.js";
import { h, message, pagedTweets, profileLink, tweetView, when } from "./dom.js";
import { disconnect, onStatus, watchHome, watchNotifications } from "./live.js";
import { IMAGE_TYPES, uploadImage } from "./media.js";
import * as ops from "./operations.js";

const PAGE_SIZE = 20;
const view = document.getElementById("view");
const nav = document.getElementById("nav");
const unreadBadge = document.getElementById("unread");
const liveStatus = document.getElementById("live-status");

// ---- pages ----

const routes = {
  home: homePage,
  u: profilePage,
  notifications: notificationsPage,
  search: searchPage,
};

let generation = 0;
let leaving = []; // what the shown page started and must stop (its subscription)

// Shows the page the URL names. A page loads asynchronously: if the user moved on
// meanwhile, what it finds is dropped (`page.show` does nothing once it is stale).
async function render() {
  for (const stop of leaving.splice(0)) stop();
  const mine = ++generation;
  const page = {
    get stale() {
      return mine !== generation;
    },
    show: (...nodes) => mine === generation && view.replaceChildren(...nodes),
    onLeave: (stop) => (mine === generation ? leaving.push(stop) : stop()),
  };
  const user = currentUser();
  nav.hidden = liveStatus.hidden = !user;
  if (!user) {
    page.show(authPage());
    return;
  }
  document.getElementById("profile-link").href = `#/u/${encodeURIComponent(user.username)}`;
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const argument = decodeURIComponent(rest.join("/"));
  for (const link of nav.querySelectorAll("a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${name}`);
  }
  page.show(message("Loading…", "status"));
  try {
    await (routes[name] ?? homePage)(argument, page);
  } catch (error) {
    page.show(message(error.message));
  }
}

function authPage() {
  const status = h("p", { class: "error", role: "alert" });
  const failed = (error) => {
    status.textContent = error.message;
  };
  const field = (label, attributes) =>
    h("label", {}, label, h("input", { required: true, ...attributes }));
  const logInForm = h(
    "form",
    {
      class: "card",
      "aria-label": "Log in",
      onsubmit: (event) => {
        event.preventDefault();
        const form = new FormData(event.target);
        logIn(form.get("login"), form.get("password")).catch(failed);
      },
    },
    h("h2", {}, "Log in"),
    field("Username or email", { name: "login", autocomplete: "username" }),
    field("Password", { name: "password", type: "password", autocomplete: "current-password" }),
    h("button", { type: "submit" }, "Log in"),
  );
  const signUpForm = h(
    "form",
    {
      class: "card",
      "aria-label": "Sign up",
      onsubmit: (event) => {
        event.preventDefault();
        const form = new FormData(event.target);
        signUp({
          username: form.get("username"),
          email: form.get("email"),
          password: form.get("password"),
          displayName: form.get("displayName") || null,
        }).catch(failed);
      },
    },
    h("h2", {}, "Sign up"),
    field("Username", {
      name: "username",
      autocomplete: "username",
      pattern: "[A-Za-z0-9_]{1,15}",
      title: "1 to 15 letters, digits or underscores",
    }),
    field("Email", { name: "email", type: "email", autocomplete: "email" }),
    h("label", {}, "Display name", h("input", { name: "displayName", autocomplete: "name" })),
    field("Password", {
      name: "password",
      type: "password",
      minlength: "8",
      autocomplete: "new-password",
    }),
    h("button", { type: "submit" }, "Sign up"),
  );
  return h(
    "div",
    { class: "auth" },
    h("p", { class: "lead" }, "Chirp's web client: a small, readable client of the GraphQL API."),
    status,
    h("div", { class: "forms" }, logInForm, signUpForm),
  );
}

// The home timeline: the first page by query, then new tweets over the subscription.
async function homePage(_, page) {
  const load = async (after) =>
    (await request(ops.HOME_TIMELINE, { first: PAGE_SIZE, after })).homeTimeline;
  const first = await load(null);
  if (page.stale) return;
  const tweets = pagedTweets(first, load, {
    empty: "Your timeline is empty: post something, or search for people to follow.",
  });
  const add = (tweet, live) => {
    if (tweets.list.querySelector(`[data-id="${CSS.escape(tweet.id)}"]`)) return; // already shown
    tweets.list.prepend(tweetView(tweet, { live }));
    tweets.note.hidden = true;
  };
  page.show(
    h("h1", {}, "Home"),
    composer((tweet) => add(tweet, false)),
    tweets.element,
  );
  // Subscribing after the newest tweet shown: what came since the query is replayed first.
  // An empty first page has no tweet, but its endCursor (never null there) does the same.
  const newest = first.edges[0]?.cursor ?? first.pageInfo.endCursor;
  page.onLeave(
    watchHome(newest, (event) => {
      if (event.type === "ADDED" && event.tweet) add(event.tweet, true);
      if (event.type === "DELETED") {
        tweets.list.querySelector(`[data-id="${CSS.escape(event.tweetId)}"]`)?.remove();
      }
    }),
  );
}

function randomKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

function composer(onPosted) {
  const text = h("textarea", {
    name: "text",
    rows: "3",
    placeholder: "What's happening?",
    "aria-label": "Tweet text",
  });
  const image = h("input", {
    type: "file",
    name: "image",
    accept: IMAGE_TYPES.join(","),
    "aria-label": "Attach an image",
  });
  const button = h("button", { type: "submit" }, "Post");
  const status = h("p", { class: "status", role: "status" });
  // One key per draft: pressing Post again after a failure that may have reached the
  // server (a timeout) cannot post the tweet twice.
  let idempotencyKey = randomKey();
  const form = h(
    "form",
    {
      class: "compose card",
      "aria-label": "Post a tweet",
      onsubmit: async (event) => {
        event.preventDefault();
        button.disabled = true;
        status.className = "status";
        try {
          const mediaIds = [];
          if (image.files.length) {
            status.textContent = "Uploading the image…";
            mediaIds.push(await uploadImage(image.files[0]));
          }
          status.textContent = "Posting…";
          const { postTweet } = await request(ops.POST_TWEET, {
            input: { text: text.value, mediaIds, idempotencyKey },
          });
          form.reset();
          idempotencyKey = randomKey();
          status.textContent = "";
          onPosted(postTweet);
        } catch (error) {
          status.className = "error";
          status.textContent = error.message;
        } finally {
          button.disabled = false;
        }
      },
    },
    text,
    h("div", { class: "row" }, image, button),
    status,
  );
  return form;
}

async function profilePage(username, page) {
  const load = async (after) => request(ops.PROFILE, { username, first: PAGE_SIZE, after });
  const { user } = await load(null);
  if (page.stale) return;
  if (!user) {
    page.show(message(`There is no @${username}.`));
    return;
  }
  const counts = h("p", { class: "counts" });
  const showCounts = () => {
    counts.textContent = [
      plural(user.tweetsCount, "tweet"),
      `${user.followingCount} following`,
      plural(user.followersCount, "follower"),
    ].join(" · ");
  };
  showCounts();
  const isMe = user.id === currentUser().id;
  const tweets = pagedTweets(user.tweets, async (after) => (await load(after)).user.tweets);
  page.show(
    h(
      "section",
      { class: "profile card" },
      h("h1", {}, user.displayName, " ", h("span", { class: "handle" }, `@${user.username}`)),
      user.bio ? h("p", {}, user.bio) : null,
      user.followsViewer ? h("p", { class: "tag" }, "Follows you") : null,
      counts,
      isMe ? null : followButton(user, showCounts),
    ),
    tweets.element,
  );
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

// Follow or unfollow; the mutation answers with the user's new counts and flags.
function followButton(user, changed) {
  const label = () =>
    user.viewerFollows ? "Unfollow" : user.viewerHasRequested ? "Requested" : "Follow";
  const button = h("button", { type: "button", class: "follow" }, label());
  const status = h("span", { class: "error", role: "alert" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "";
    try {
      const undo = user.viewerFollows || user.viewerHasRequested;
      const data = await request(undo ? ops.UNFOLLOW : ops.FOLLOW, { userId: user.id });
      // A protected account answers REQUESTED: it is followed once its owner approves.
      Object.assign(user, (data.follow ?? data.unfollow).user);
      button.textContent = label();
      changed();
    } catch (error) {
      status.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
  return h("p", {}, button, " ", status);
}

const NOTIFICATION_TEXT = {
  MENTION: "mentioned you",
  REPLY: "replied to you",
  QUOTE: "quoted your tweet",
  LIKE: "liked your tweet",
  RETWEET: "retweeted your tweet",
  FOLLOW: "followed you",
  FOLLOW_REQUEST: "asked to follow you",
  FOLLOW_REQUEST_APPROVED: "accepted your follow request",
};

function notificationView({ node }) {
  const [newest] = node.actors;
  const others = node.count - 1;
  return h(
    "li",
    { class: node.unread ? "notification unread" : "notification", "data-kind": node.kind },
    newest ? profileLink(newest) : "Someone",
    others > 0 ? ` and ${others} other${others > 1 ? "s" : ""}` : "",
    ` ${NOTIFICATION_TEXT[node.kind] ?? node.kind.toLowerCase()} · `,
    when(node.latestAt),
    node.tweet ? h("blockquote", {}, node.tweet.text) : null,
  );
}

// Notifications, newest first; opening the page marks them read (up to the newest shown,
// so one that arrives meanwhile stays unread).
async function notificationsPage(_, page) {
  const { notifications } = await request(ops.NOTIFICATIONS, { first: PAGE_SIZE });
  if (page.stale) return;
  const list = h("ul", { class: "notifications" }, notifications.edges.map(notificationView));
  page.show(
    h("h1", {}, "Notifications"),
    notifications.edges.length ? list : message("No notifications yet.", "empty"),
  );
  const newest = notifications.edges[0];
  if (newest?.node.unread) {
    await request(ops.MARK_READ, { upTo: newest.cursor });
    await refreshUnread();
  }
  // Refresh the list when one arrives while the page is open.
  page.onLeave(watchNotifications(() => page.stale || render()));
}

async function searchPage(query, page) {
  const input = h("input", {
    type: "search",
    name: "q",
    value: query,
    "aria-label": "Search",
    placeholder: "Words, #hashtags, from:username, or people",
  });
  const form = h(
    "form",
    {
      class: "search card",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        const wanted = input.value.trim();
        // Searching the same words again re-runs the search (the hash would not change).
        if (location.hash === `#/search/${encodeURIComponent(wanted)}`) render();
        else location.hash = `#/search/${encodeURIComponent(wanted)}`;
      },
    },
    input,
    h("button", { type: "submit" }, "Search"),
  );
  if (!query) {
    page.show(h("h1", {}, "Search"), form);
    return;
  }
  // People and tweets are two requests: each can refuse the query on its own terms.
  const load = async (after) =>
    (await request(ops.SEARCH_TWEETS, { query, first: PAGE_SIZE, after })).search;
  const [people, tweets] = await Promise.allSettled([
    request(ops.SEARCH_PEOPLE, { query }).then((data) => data.searchUsers.edges),
    load(null),
  ]);
  if (page.stale) return;
  // A query one search refuses may suit the other ("!!!" finds no one, `since:` alone no tweet).
  const refused = (result) => message(result.reason.message, "empty");
  const peopleSection = people.status === "rejected" ? refused(people) : peopleList(people.value);
  const tweetSection =
    tweets.status === "rejected"
      ? refused(tweets)
      : pagedTweets(tweets.value, load, { empty: "No tweets found." }).element;
  page.show(
    h("h1", {}, "Search"),
    form,
    h("h2", {}, "People"),
    peopleSection,
    h("h2", {}, "Tweets"),
    tweetSection,
  );
}

function peopleList(edges) {
  if (!edges.length) return message("No one found.", "empty");
  const person = ({ node }) =>
    h(
      "li",
      {},
      profileLink(node),
      ` · ${plural(node.followersCount, "follower")}`,
      node.bio ? h("p", {}, node.bio) : null,
    );
  return h("ul", { class: "people" }, edges.map(person));
}

// ---- what stays while logged in: the unread badge and the live status ----

let stopNotifications = null;

function showUnread(count) {
  unreadBadge.textContent = count > 0 ? String(count) : "";
  unreadBadge.hidden = count === 0;
}

async function refreshUnread() {
  showUnread((await request(ops.UNREAD_COUNT)).unreadNotificationsCount);
}

function watchSession(user) {
  stopNotifications?.();
  stopNotifications = null;
  if (user) {
    refreshUnread().catch(() => {});
    // Each event carries the count after it: no request per event (unless it could not be
    // counted then).
    stopNotifications = watchNotifications((event) =>
      event.unreadCount === null ? refreshUnread().catch(() => {}) : showUnread(event.unreadCount),
    );
  } else {
    disconnect();
  }
}

const STATUS_TEXT = { live: "Live", connecting: "Connecting…", offline: "Offline" };
onStatus((status) => {
  liveStatus.textContent = STATUS_TEXT[status];
  liveStatus.dataset.status = status;
});

onSessionChange((user) => {
  watchSession(user);
  if (user && !location.hash.startsWith("#/")) location.hash = "#/home";
  else render();
});

document.getElementById("log-out").addEventListener("click", () => {
  logOut();
  location.hash = "#/home"; // the next log-in starts at home (a shared link keeps its page)
});
window.addEventListener("hashchange", render);
await ready;
watchSession(currentUser());
render();
