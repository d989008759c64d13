// Every GraphQL document the web client sends, in one place: read them next to
// schema.graphql, or paste them into GraphiQL (/graphql). app/web/documents.json lists them
// as a trusted-documents manifest, which a server with CHIRP_TRUSTED_DOCUMENTS trusts: after
// changing this file, run `make web-documents` (a test fails until it is run).

// What a tweet card shows. Media URLs are signed and expire (hours), so a page that stays
// open for a long time refetches rather than keeping them.
const TWEET = `
  fragment TweetCard on Tweet {
    id
    text
    createdAt
    likeCount
    replyCount
    author { id username displayName }
    media { id url contentType }
  }`;

// Connections (homeTimeline, search, a profile's tweets) page with cursors: ask for `first`
// items, then pass `pageInfo.endCursor` as `after` for the next page.
const PAGE = `
  edges { cursor node { ...TweetCard } }
  pageInfo { hasNextPage endCursor }`;

const AUTH = `accessToken refreshToken expiresIn user { id username displayName }`;

export const SIGN_UP = `
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) { ${AUTH} }
  }`;

export const LOG_IN = `
  mutation LogIn($login: String!, $password: String!) {
    logIn(login: $login, password: $password) { ${AUTH} }
  }`;

export const REFRESH_TOKEN = `
  mutation RefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { ${AUTH} }
  }`;

export const LOG_OUT = `
  mutation LogOut($refreshToken: String!) {
    logOut(refreshToken: $refreshToken)
  }`;

export const HOME_TIMELINE = `
  query HomeTimeline($first: Int!, $after: String) {
    homeTimeline(first: $first, after: $after) { ${PAGE} }
  }
  ${TWEET}`;

export const PROFILE = `
  query Profile($username: String!, $first: Int!, $after: String) {
    user(username: $username) {
      id
      username
      displayName
      bio
      protected
      followersCount
      followingCount
      tweetsCount
      viewerFollows
      viewerHasRequested
      followsViewer
      tweets(first: $first, after: $after) { ${PAGE} }
    }
  }
  ${TWEET}`;

// follow/unfollow answer with the user as it is now: the counts and flags to show.
const FOLLOW_STATE = `status user { id followersCount viewerFollows viewerHasRequested }`;

export const FOLLOW = `
  mutation Follow($userId: ID!) { follow(userId: $userId) { ${FOLLOW_STATE} } }`;

export const UNFOLLOW = `
  mutation Unfollow($userId: ID!) { unfollow(userId: $userId) { ${FOLLOW_STATE} } }`;

export const CREATE_MEDIA_UPLOAD = `
  mutation CreateMediaUpload($contentType: String!, $size: Int!) {
    createMediaUpload(contentType: $contentType, size: $size) {
      mediaId uploadUrl contentType size expiresAt
    }
  }`;

export const POST_TWEET = `
  mutation PostTweet($input: PostTweetInput!) {
    postTweet(input: $input) { ...TweetCard }
  }
  ${TWEET}`;

export const NOTIFICATIONS = `
  query Notifications($first: Int!, $after: String) {
    unreadNotificationsCount
    notifications(first: $first, after: $after) {
      edges {
        cursor
        node {
          id kind count unread latestAt
          actors { id username displayName }
          tweet { id text }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }`;

export const UNREAD_COUNT = `query UnreadCount { unreadNotificationsCount }`;

// Without `upTo` every notification is marked read; with a notification's cursor, only
// up to it (so one that arrived meanwhile stays unread).
export const MARK_READ = `
  mutation MarkNotificationsRead($upTo: String) { markNotificationsRead(upTo: $upTo) }`;

export const SEARCH_TWEETS = `
  query SearchTweets($query: String!, $first: Int!, $after: String) {
    search(query: $query, first: $first, after: $after) { ${PAGE} }
  }
  ${TWEET}`;

export const SEARCH_PEOPLE = `
  query SearchPeople($query: String!) {
    searchUsers(query: $query, first: 10) {
      edges { node { id username displayName bio followersCount viewerFollows } }
    }
  }`;

// Subscriptions run over the websocket (graphql-transport-ws, see live.js).
export const HOME_LIVE = `
  subscription HomeLive($after: String) {
    homeTimeline(after: $after) { type tweetId cursor tweet { ...TweetCard } }
  }
  ${TWEET}`;

export const NOTIFICATIONS_LIVE = `
  subscription NotificationsLive {
    notifications { type notificationId unreadCount }
  }`;
