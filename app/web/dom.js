// Building the page. Everything a user wrote goes in as text (textContent), never as HTML,
// so a tweet cannot inject markup; the page's Content-Security-Policy forbids inline script
// and inline styles besides.

// h("a", {href: "#/home", class: "nav"}, "Home"): an element with attributes, event
// handlers (onclick: ...) and children (strings become text).
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

export function profileLink(user) {
  return h(
    "a",
    { href: `#/u/${encodeURIComponent(user.username)}`, class: "who" },
    h("strong", {}, user.displayName || user.username),
    " ",
    h("span", { class: "handle" }, `@${user.username}`),
  );
}

// A tweet's text with @mentions linked to profiles and #hashtags to a search.
function richText(text) {
  return text.split(/([@#][\p{L}\p{N}_]+)/u).map((part) => {
    if (/^@[A-Za-z0-9_]{1,15}$/.test(part)) {
      return h("a", { href: `#/u/${encodeURIComponent(part.slice(1))}` }, part);
    }
    if (/^#[\p{L}\p{N}_]+$/u.test(part)) {
      return h("a", { href: `#/search/${encodeURIComponent(part)}` }, part);
    }
    return part;
  });
}

function mediaView(media, author) {
  if (media.contentType.startsWith("image/")) {
    return h("img", {
      src: media.url,
      alt: `Image posted by @${author.username}`,
      loading: "lazy",
    });
  }
  // The page's policy allows images and video from the media store (img-src, media-src).
  // The player asks for byte ranges, so it fetches what it plays, not the whole file. A
  // format this browser cannot play still has its link.
  const link = h(
    "a",
    { href: media.url, target: "_blank", rel: "noopener", class: "media-link" },
    `Open the video (${media.contentType})`,
  );
  const player = h("video", {
    src: media.url,
    controls: true,
    preload: "metadata",
    "aria-label": `Video posted by @${author.username}`,
  });
  return h("div", { class: "video" }, player, link);
}

export function when(iso) {
  const date = new Date(iso);
  return h("time", { datetime: iso, title: date.toLocaleString() }, date.toLocaleString());
}

// One tweet. `live` marks one that arrived over the subscription (highlighted briefly).
export function tweetView(tweet, { live = false } = {}) {
  return h(
    "article",
    { class: live ? "tweet live" : "tweet", "data-id": tweet.id },
    h("header", {}, profileLink(tweet.author), " · ", when(tweet.createdAt)),
    h("p", { class: "text" }, richText(tweet.text)),
    tweet.media.length
      ? h(
          "div",
          { class: "media" },
          tweet.media.map((m) => mediaView(m, tweet.author)),
        )
      : null,
    h("footer", {}, `${tweet.likeCount} likes · ${tweet.replyCount} replies`),
  );
}

// A list of tweets with a "More" button that asks for the next page by cursor.
// `load(after)` resolves to a connection: {edges: [{cursor, node}], pageInfo}.
export function pagedTweets(first, load, { empty = "Nothing here yet." } = {}) {
  const list = h("div", { class: "tweets" });
  const more = h("button", { type: "button", class: "more", hidden: true }, "More");
  const note = h("p", { class: "empty", hidden: true }, empty);
  const failed = h("p", { class: "error", role: "alert" });
  let after = null;
  const show = (connection) => {
    for (const { node } of connection.edges) {
      // A tweet may already be shown: one that arrived live, then came in a page.
      if (!list.querySelector(`[data-id="${CSS.escape(node.id)}"]`)) list.append(tweetView(node));
    }
    note.hidden = list.childElementCount > 0;
    more.hidden = !connection.pageInfo.hasNextPage;
    after = connection.pageInfo.endCursor;
  };
  more.addEventListener("click", async () => {
    more.disabled = true;
    failed.textContent = "";
    try {
      show(await load(after));
    } catch (error) {
      failed.textContent = error.message;
    } finally {
      more.disabled = false;
    }
  });
  show(first);
  return { element: h("section", {}, list, note, more, failed), list, note };
}

export function message(text, kind = "error") {
  return h("p", { class: kind, role: kind === "error" ? "alert" : "status" }, text);
}
