// Chirp's GraphiQL page, started from a file rather than an inline script so that the page's
// Content-Security-Policy can forbid inline scripts. Queries and mutations are POSTed to the
// page's own URL (/graphql); subscriptions go over graphql-transport-ws to the same path.
(function () {
  "use strict";

  var WELCOME = [
    "# Chirp's GraphQL API: Ctrl-Enter runs, Ctrl-Space completes.",
    "#",
    "# To run as a user, sign up or log in, then paste the access",
    "# token into the Headers tab below:",
    '#   {"Authorization": "Bearer <accessToken>"}',
    "#",
    "# mutation {",
    '#   logIn(login: "ada", password: "...") {',
    "#     accessToken",
    "#   }",
    "# }",
    "",
    "query Me {",
    "  me {",
    "    username",
    "    followersCount",
    "  }",
    "}",
    "",
  ].join("\n");

  var endpoint = location.origin + location.pathname;
  var socket = new URL(endpoint);
  socket.protocol = location.protocol === "https:" ? "wss:" : "ws:";

  // GraphiQL sends the Headers tab over HTTP as headers, and to a subscription's socket as its
  // connection_init payload, where Chirp reads `Authorization` too.
  var fetcher = GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: socket.href });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: WELCOME,
      plugins: [GraphiQLPluginExplorer.explorerPlugin()],
      defaultEditorToolsVisibility: true,
      isHeadersEditorEnabled: true,
      // An access token pasted into the Headers tab stays in this tab, not in localStorage
      // where any script of this origin could read it after the tab is closed.
      shouldPersistHeaders: false,
      inputValueDeprecation: true,
    })
  );
})();
